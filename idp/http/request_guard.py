"""The edge of every request: what no endpoint should have to check for itself.

Before any view runs (``before_request``, ahead of the blueprints' own hooks), a request is refused
with a 4xx when

- its ``Host`` header is not a host name, an IP address or ``[IPv6]``, with an optional port;
- a path variable, query or form parameter (name or value) holds a NUL or another control character
  (tab, CR and LF excepted), bytes that are not UTF-8, or more characters than any field takes;
- on a protocol request, its Authorization header is not one ``scheme token68`` credential, or its HTTP
  Basic client credentials are not base64 of UTF-8 ``id:secret`` (RFC 6749 2.3.1);
- its JSON body is larger than ``MAX_JSON_BYTES`` or nested deeper than ``MAX_JSON_DEPTH``, or, sent to a
  page (whose forms read a JSON body as their fields), is not an object.

Every backend sees the same values: PostgreSQL rejects a NUL in text, SQLite and Redis store it, and
Python's JSON parser recurses once per nesting level. The refusal is a ``RequestRejected``; the error
handlers (``web/errors.py``) render it as the protocol's JSON error or as the readable error page.
"""
from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from flask import request
from flask_babel import lazy_gettext as N_
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from .endpoints import is_protocol_request

MAX_PARAM_NAME = 128
MAX_PARAM_VALUE = 64 * 1024  # PEM chains, JWKS and signed answers are the longest fields; ids are far shorter
MAX_PARAMS = 200
MAX_JSON_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32
MAX_CREDENTIAL = 1024

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")  # U+FFFD: what undecodable bytes became
_NAME_CONTROL = re.compile(r"[\x00-\x1f\x7f\ufffd]")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")
_PORT = re.compile(r"^[0-9]{1,5}$")
_AUTHORIZATION = re.compile(r"^([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?: +([A-Za-z0-9._~+/-]+=*))?$")
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


class RequestRejected(BadRequest):
    """A request refused at the edge. ``error`` is the OAuth 2.0 error code for protocol endpoints;
    ``title`` and ``description`` are for the person reading the error page."""

    def __init__(self, message, *, error: str = "invalid_request", status: int = 400, title=None,
                 headers: dict | None = None):
        super().__init__(description=str(message))
        self.message = message  # a lazy translation: English in a protocol error, the person's language on a page
        self.code = status
        self.error = error
        self.title = title
        self.extra_headers = headers or {}


_SET_ASIDE = "idp.request_guard.set_aside"


def init_request_guard(app, issuer: str) -> None:
    app.wsgi_app = _set_aside_malformed(app.wsgi_app, urlsplit(issuer).netloc)
    app.before_request(check_request)


def _set_aside_malformed(wsgi_app, issuer_host: str):
    """What would break Flask itself is replaced before Flask sees the request, and the request refused by
    ``check_request``: a query string of raw bytes that are not UTF-8 (every read of ``request.args``
    raises, also the error page's, which picks its language from ``?lang=``) and a Host header that is
    not a host name (no URL can be built for it, not even the error page's stylesheet link)."""

    def app(environ, start_response):
        if not _utf8_form_encoded(environ.get("QUERY_STRING", "")):
            environ["QUERY_STRING"] = ""
            environ[_SET_ASIDE] = N_("The request contains bytes that are not UTF-8 text.")
        host = environ.get("HTTP_HOST")
        if host is not None and not valid_host(host):  # HTTP/1.0 without Host: Werkzeug uses SERVER_NAME
            environ["HTTP_HOST"] = issuer_host
            environ[_SET_ASIDE] = N_("The Host header of the request is not a valid host name.")
        return wsgi_app(environ, start_response)

    return app


def _utf8_form_encoded(raw: bytes | str) -> bool:
    """Whether ``raw`` (a query string or form body; a WSGI string holds bytes as latin-1), raw and
    percent-decoded, is UTF-8 text. Werkzeug keeps undecodable escapes as literal ``%XX`` text and raises
    on raw undecodable bytes."""
    if (b"%" if isinstance(raw, bytes) else "%") not in raw and raw.isascii():
        return True
    try:
        data = raw.encode("latin-1") if isinstance(raw, str) else raw
        unquote_to_bytes(data.replace(b"+", b" ")).decode("utf-8")
    except UnicodeError:
        return False
    return True


def check_request() -> None:
    problem = request.environ.get(_SET_ASIDE)
    if problem:
        raise RequestRejected(problem, title=N_("The request is malformed"))
    check_parameters()
    check_authorization()
    check_json_body()


# -- Host ------------------------------------------------------------------------------------------

def valid_host(value: str) -> bool:
    """``host[:port]`` per RFC 3986 3.2.2 with DNS label rules (RFC 1035 2.3.4: 63 per label, 253 in all)."""
    if not value or len(value) > 260:
        return False
    if value.startswith("["):
        address, sep, rest = value[1:].partition("]")
        if not sep or (rest and not (rest.startswith(":") and _valid_port(rest[1:]))):
            return False
        try:
            return ipaddress.ip_address(address).version == 6
        except ValueError:
            return False
    host, sep, port = value.rpartition(":")
    if not sep:
        host = value
    elif not _valid_port(port):
        return False
    name = host[:-1] if host.endswith(".") else host
    if not name or len(name) > 253:
        return False
    return all(_LABEL.match(label) for label in name.split("."))


def _valid_port(port: str) -> bool:
    return bool(_PORT.match(port)) and 0 < int(port) < 65536


# -- parameters ------------------------------------------------------------------------------------

def _bad_text(value: str, limit: int, pattern: re.Pattern) -> bool:
    return len(value) > limit or pattern.search(value) is not None


def check_parameters() -> None:
    # Only what the request has: most protocol requests carry no query string, no path variable or no
    # body, and parsing an empty one costs as much as checking a short one.
    environ = request.environ
    sources = [request.args] if environ.get("QUERY_STRING") else []
    if request.view_args:  # path variables: /api/admin/clients/<client_id>
        sources.append({name: value for name, value in request.view_args.items() if isinstance(value, str)})
    mimetype = request.mimetype if environ.get("CONTENT_TYPE") else ""
    if mimetype == "application/x-www-form-urlencoded":
        # read (and cached) before the form is parsed from it, to see the bytes as sent
        if not _utf8_form_encoded(request.get_data(cache=True)):
            raise RequestRejected(N_("The request contains bytes that are not UTF-8 text."),
                                  title=N_("The request is malformed"))
        sources.append(request.form)
    elif mimetype == "multipart/form-data":  # undecodable bytes in a part are U+FFFD, refused below
        sources.append(request.form)
    count = 0
    for source in sources:
        for name, value in (source.items(multi=True) if hasattr(source, "getlist") else source.items()):
            count += 1
            if count > MAX_PARAMS:
                raise RequestRejected(N_("The request has too many parameters."),
                                      title=N_("The request is malformed"))
            if _bad_text(name, MAX_PARAM_NAME, _NAME_CONTROL) or _bad_text(value, MAX_PARAM_VALUE, _CONTROL):
                raise RequestRejected(
                    N_("A parameter of the request is too long or contains characters that are not allowed."),
                    title=N_("The request is malformed"))


# -- client credentials ------------------------------------------------------------------------------

def check_authorization() -> None:
    """The Authorization header of a protocol request is one credential, ``scheme [1*SP token68]`` (RFC 7235
    2.1; Bearer and Basic both use token68), else 400 ``invalid_request`` (RFC 6750 3.1). Basic credentials
    are RFC 6749 2.3.1's ``base64(urlencode(id) ":" urlencode(secret))`` in UTF-8; anything else is a failed
    client authentication (5.2: 401 ``invalid_client``). Pages ignore the header (a browser may send one
    meant for a proxy in front), so only protocol requests are checked."""
    header = request.headers.get("Authorization")
    if header is None or not is_protocol_request():
        return
    match = _AUTHORIZATION.match(header)
    if header[:6].lower() == "basic ":
        if match is None or match.group(2) is None or _basic_credentials(match.group(2)) is None:
            raise _invalid_client()
    elif match is None or len(header) > MAX_CREDENTIAL * 8:
        raise RequestRejected(N_("The Authorization header is malformed."), title=N_("The request is malformed"))


def _invalid_client() -> RequestRejected:
    return RequestRejected(N_("The client credentials are malformed."), error="invalid_client", status=401,
                           title=N_("The request is malformed"),
                           headers={"WWW-Authenticate": 'Basic realm="idp", error="invalid_client"'})


def _basic_credentials(token: str) -> tuple[str, str] | None:
    if not token or len(token) > MAX_CREDENTIAL * 2:
        return None
    try:
        decoded = base64.b64decode(token, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    if ":" not in decoded:
        return None
    try:
        client_id, secret = (unquote(part, errors="strict") for part in decoded.split(":", 1))
    except ValueError:  # a percent-encoded byte sequence that is not UTF-8
        return None
    if not client_id or _bad_text(client_id, MAX_CREDENTIAL, _NAME_CONTROL) \
            or _bad_text(secret, MAX_CREDENTIAL, _NAME_CONTROL):
        return None
    return client_id, secret


# -- JSON bodies -------------------------------------------------------------------------------------

def json_depth(raw: bytes) -> int:
    """How deeply arrays and objects nest in ``raw`` (not validated: strings are skipped, brackets counted)."""
    depth = deepest = 0
    for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub(b'""', raw)):
        if bracket in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def check_json_text(raw: bytes | str) -> None:
    """Refuse a JSON document too large or too deep to parse safely (``json.loads`` recurses per level)."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if len(data) > MAX_JSON_BYTES:
        raise _too_large()
    if json_depth(data) > MAX_JSON_DEPTH:
        raise RequestRejected(N_("The request body is nested too deeply."), title=N_("The request is malformed"))


def _too_large() -> RequestRejected:
    return RequestRejected(N_("The request body is too large."), status=RequestEntityTooLarge.code,
                           title=N_("The request is malformed"))


def loads_bounded(raw: bytes | str):
    """``json.loads`` for untrusted text, after ``check_json_text``."""
    check_json_text(raw)
    return json.loads(raw)


def check_json_body() -> None:
    if not request.is_json:
        return
    length = request.content_length
    if length is not None and length > MAX_JSON_BYTES:
        raise _too_large()
    body = request.get_data(cache=True)
    check_json_text(body)
    # Flask-WTF reads a JSON body as a page form's fields, and fails on anything but an object; protocol
    # views check the shape of the JSON they take themselves.
    if body.strip() and not body.lstrip().startswith(b"{") and not is_protocol_request():
        raise RequestRejected(N_("The request body must be a JSON object."), title=N_("The request is malformed"))
