"""Readable error pages in the browser, JSON on protocol endpoints; never a traceback."""
from __future__ import annotations

import logging

from flask import jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .unavailable import register_unavailable_handler

log = logging.getLogger(__name__)
_JSON_PATHS = ("/token", "/revoke", "/introspect", "/userinfo", "/jwks.json", "/.well-known/", "/healthz",
               "/readyz", "/api/", "/cas/")


def _wants_json() -> bool:
    return request.path.startswith(_JSON_PATHS)


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
        return render_template("error.html", title=error.name, description=error.description), error.code

    @app.errorhandler(Exception)
    def unexpected(error):
        log.exception("unhandled error on %s %s", request.method, request.path)
        if _wants_json():
            return jsonify(error="server_error", error_description="internal error"), 500
        return render_template("error.html", title=_("Something went wrong"),
                               description=_("Please try again later.")), 500

    register_unavailable_handler(app, _wants_json)
