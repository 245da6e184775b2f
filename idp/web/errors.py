"""Readable error pages in the browser, JSON on protocol endpoints; never a traceback.

One mapping for every error a view does not answer itself: HTTP errors (Werkzeug's, and the request
guard's ``RequestRejected``), Authlib errors that escape its own handling (``InsecureTransportError`` is
raised while the request object is built), CSRF failures and anything unexpected. Whether a request
is a protocol request (answered with RFC 6749 5.2's JSON error and ``Cache-Control: no-store``) or a
browser request (the error page, in the person's language) is decided by ``endpoints.is_protocol_request``
from its endpoint: a new view in a protocol blueprint is answered in JSON without any code of its own.
"""
from __future__ import annotations

import logging

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InsecureTransportError
from flask import current_app, jsonify, render_template, request
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as N_
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..http.endpoints import is_protocol_request
from .http_messages import http_error_page
from ..http.request_guard import RequestRejected
from .unavailable import register_unavailable_handler

log = logging.getLogger(__name__)

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 5.1 / 5.2

_OAUTH_CODES = {400: "invalid_request", 401: "invalid_client", 403: "access_denied", 404: "not_found",
                405: "invalid_request", 413: "invalid_request", 415: "invalid_request"}

def protocol_error(status: int, error: str, description: str, headers=()):
    response = jsonify(error=error, error_description=description)
    response.status_code = status
    response.headers.update(_NO_STORE)
    for name, value in headers:
        response.headers[name] = value
    return response


def error_page(status: int, title=None, description=None, error: str | None = None, headers=()):
    """The project's own error page, in the person's language: the status's standard words unless a
    title or description is given; the protocol error code or the status in small print."""
    standard_title, standard_description = http_error_page(status)
    response = current_app.make_response(
        (render_template("error.html", title=title or standard_title,
                         description=description or standard_description, error=error, status=status,
                         home=True), status))
    for name, value in headers:
        response.headers[name] = value
    return response


def _english(text) -> str:
    """RFC 6749 5.2: error_description is ASCII, for the developer of the client."""
    with force_locale("en"):
        return str(text)


def _passed_headers(error: HTTPException):
    """Headers an HTTP error carries for the client (Allow, WWW-Authenticate, Retry-After)."""
    return [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]


def _http_error(error: HTTPException):
    status = error.code or 500
    headers = _passed_headers(error)
    if isinstance(error, RequestRejected):
        headers += list(error.extra_headers.items())
    if is_protocol_request():
        code = getattr(error, "error", None) or _OAUTH_CODES.get(status, "server_error" if status >= 500
                                                                  else "invalid_request")
        return protocol_error(status, code, _english(error.message) if isinstance(error, RequestRejected)
                              else error.description or error.name, headers)
    title = getattr(error, "title", None)
    description, code = _own_description(error), None
    if isinstance(error, RequestRejected):
        description, code = str(error.message), error.error
    return error_page(status, title, description, error=code, headers=headers)


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


def _oauth_error(error: OAuth2Error):
    """An Authlib error raised outside the endpoint's own handling."""
    if isinstance(error, InsecureTransportError):
        return _http_error(RequestRejected(N_("HTTPS required"), title=N_("This server is reached over HTTPS only")))
    status = error.status_code or 400
    headers = [(k, v) for k, v in (error.get_headers() or []) if k.lower() != "content-type"]
    if is_protocol_request():
        return protocol_error(status, error.error, error.get_error_description() or error.error, headers)
    return error_page(status, None, None, error=error.error)


def register_error_handlers(app) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        if is_protocol_request():
            return protocol_error(400, "invalid_request", error.description)
        return error_page(400, _("Your form has expired"), _("Reload the page and try again."))

    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(OAuth2Error, _oauth_error)

    @app.errorhandler(Exception)
    def unexpected(error):
        log.exception("unhandled error on %s %s", request.method, request.path)
        if is_protocol_request():
            return protocol_error(500, "server_error", "internal error")
        return error_page(500)

    register_unavailable_handler(app, is_protocol_request)
