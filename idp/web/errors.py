"""Readable error pages in the browser, JSON on protocol endpoints; never a traceback."""
from __future__ import annotations

import logging

from flask import jsonify, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .http_messages import http_error_page

log = logging.getLogger(__name__)
_JSON_PATHS = ("/token", "/revoke", "/introspect", "/userinfo", "/jwks.json", "/.well-known/", "/healthz",
               "/readyz", "/api/", "/cas/")


def _wants_json() -> bool:
    return request.path.startswith(_JSON_PATHS)


def _own_description(error: HTTPException) -> str | None:
    """The description an ``abort(code, _("…"))`` in this project gave, if any.

    Werkzeug's default descriptions are English, and so are the ones Werkzeug and Flask write
    themselves (e.g. a malformed form body): a Chinese page shows those only in its own words.
    """
    description = error.description
    if not description or description == type(error).description:
        return None
    if str(get_locale() or "zh") == "zh" and description.isascii():
        return None
    return description


def error_page(status: int, description: str | None = None):
    """The project's own error page for an HTTP status, in the person's language."""
    title, standard = http_error_page(status)
    return render_template("error.html", title=title, description=description or standard,
                           status=status, home=True), status


def register_error_handlers(app) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_template("error.html", title=_("Your form has expired"),
                               description=_("Reload the page and try again.")), 400

    @app.errorhandler(HTTPException)
    def http_error(error):
        if _wants_json():
            code = {400: "invalid_request", 401: "invalid_client", 404: "not_found",
                    405: "invalid_request", 413: "invalid_request"}.get(error.code, "server_error")
            return jsonify(error=code, error_description=error.description), error.code
        response = error_page(error.code or 500, _own_description(error))
        if error.code == 405 and error.valid_methods:
            return response[0], 405, {"Allow": ", ".join(error.valid_methods)}
        return response

    @app.errorhandler(Exception)
    def unexpected(error):
        log.exception("unhandled error on %s %s", request.method, request.path)
        if _wants_json():
            return jsonify(error="server_error", error_description="internal error"), 500
        return error_page(500)
