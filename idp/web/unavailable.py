"""A transient storage failure answers 503 with Retry-After, not 500: the request can be retried.

Which failures are transient is decided by ``storage.transient``. Every write path of the app commits
all of a request's changes together or none of them (the token store claims a code or refresh token in
the transaction that stores the new tokens), so a request that failed this way changed nothing and the
client's retry gets the answer it would have got. Any other storage error is still a bug: it goes to the
app's handler of unexpected errors (500).

On protocol endpoints the body is an RFC 6749 error object with ``temporarily_unavailable``: the one
code the OAuth error registry has for "temporarily unable to handle the request" (RFC 6749 4.1.2.1).
RFC 6749 5.2 defines no such code for the token endpoint, but its clients key on the status code and
read the error code as text; ``server_error`` would tell them the opposite of what is true (that
retrying is pointless).
"""
from __future__ import annotations

import logging

from flask import jsonify, render_template, request
from flask_babel import gettext as _

from ..storage.transient import ERROR_CLASSES, is_transient

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 2


def register_unavailable_handler(app, wants_json) -> None:
    """Answer transient storage failures with 503; ``wants_json()`` tells a protocol endpoint's
    request from a browser's."""

    def unavailable(error):
        if not is_transient(error):
            fallback = app.error_handler_spec[None][None].get(Exception)
            if fallback is None:
                raise error
            return fallback(error)
        cause = getattr(error, "orig", None) or error
        # the driver's message only: SQLAlchemy's own text repeats the statement and its parameters
        log.warning("storage temporarily unavailable on %s %s: %s: %s", request.method, request.path,
                    type(cause).__name__, str(cause).strip().splitlines()[0] if str(cause).strip() else "")
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
        if wants_json():
            return jsonify(error="temporarily_unavailable",
                           error_description="The service is temporarily unavailable; retry the request "
                                             f"in {RETRY_AFTER_SECONDS} seconds."), 503, headers
        return render_template("error.html", title=_("The service is temporarily unavailable"),
                               description=_("Please try again in a moment.")), 503, headers

    for error_class in ERROR_CLASSES:
        app.register_error_handler(error_class, unavailable)
