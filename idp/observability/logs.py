"""Request ids and structured logs.

Every response carries ``X-Request-ID``: the caller's value when it is a plausible id (letters,
digits, ``.-_:``; at most 128 characters), otherwise a new random one. With IDP_LOG_FORMAT=json the
root logger writes one JSON object per line, each with the request id of the request it belongs to.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import secrets
from datetime import datetime, timezone

from flask import g, has_request_context, request

HEADER = "X-Request-ID"
_VALID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_STD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


def current_request_id() -> str | None:
    return getattr(g, "request_id", None) if has_request_context() else None


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name, "message": record.getMessage(),
                 "request_id": getattr(record, "request_id", None)}
        if has_request_context():
            entry["method"], entry["path"] = request.method, request.path
        for key, value in vars(record).items():
            if key not in _STD_ATTRS and not key.startswith("_"):
                entry[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(log_format: str, level: str, stream=None) -> logging.Handler:
    """Install (or replace) the server's handler on the root logger; returns it."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_idp_handler", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._idp_handler = True
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def init_logging(app) -> None:
    settings = app.config["IDP_SETTINGS"]
    if settings.log_format == "json":
        configure_logging("json", settings.log_level)

    @app.before_request
    def _assign_request_id():
        incoming = request.headers.get(HEADER, "")
        g.request_id = incoming if _VALID.match(incoming) else secrets.token_hex(16)

    @app.after_request
    def _echo_request_id(response):
        request_id = getattr(g, "request_id", None)
        if request_id:
            response.headers[HEADER] = request_id
        return response
