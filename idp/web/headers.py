"""Response headers every response carries unless its view chose its own value."""
from __future__ import annotations

SECURITY_HEADERS = (
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),  # CSRF checks need a same-origin Referer on https
)


def add_missing(headers, defaults) -> None:
    """Add each (name, value) of ``defaults`` whose name ``headers`` lacks (case-insensitively).

    Werkzeug's ``Headers.setdefault`` and ``in`` raise and catch a ``BadRequestKeyError`` for every
    absent name, which is most of their cost on every response; one pass over the names is enough."""
    present = {name.lower() for name in headers.keys()}
    for name, value in defaults:
        if name.lower() not in present:
            headers.add(name, value)
