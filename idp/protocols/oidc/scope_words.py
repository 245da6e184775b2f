"""What a person is told an application will receive, per OpenID scope, on the consent page."""
from __future__ import annotations

from flask_babel import lazy_gettext as N_

SCOPES = {
    "profile": N_("Your name"),
    "email": N_("Your email address"),
    "phone": N_("Your mobile phone number"),
    "idcard": N_("Your ID number and the kind of document it belongs to"),
    "entity": N_("The enterprises you represent, and the one you logged in for"),
}


def scope_words(scope: str) -> str | None:
    """The person's words for a scope; ``None`` for a scope without any (the page shows its name)."""
    words = SCOPES.get(scope)
    return str(words) if words is not None else None
