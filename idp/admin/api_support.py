"""What the admin API's route modules share: the JSON error shape, reading a JSON request body, and
checking a body's shape (known fields of the right types) for the registries' settings."""
from __future__ import annotations

from flask import jsonify, request


def error_response(status: int, error: str, description: str):
    """``{"error": …, "error_description": …}`` with the given status (RFC 6749 5.2's shape)."""
    response = jsonify(error=error, error_description=description)
    response.status_code = status
    return response


def json_body(*, required: bool = True):
    """The request's JSON value, or None when the body is not JSON; ``{}`` for an empty optional body."""
    if not required and not request.get_data(cache=True):
        return {}
    return request.get_json(silent=True)


class InvalidInput(Exception):
    """Bad input for a registry's settings; ``description`` says what (RFC-style ``invalid_request``).
    The API answers it with 400, the console shows it on the form."""

    def __init__(self, description: str):
        super().__init__(description)
        self.error = "invalid_request"
        self.description = description


def _kind(types: tuple) -> str:
    return {(bool,): "true or false", (list,): "an array of strings"}.get(types, "a string")


def check_shape(body, types: dict, error: type[InvalidInput]) -> dict:
    """``body`` as a dict of known fields (``types``: name -> allowed Python types; a list holds strings)."""
    if not isinstance(body, dict):
        raise error("the request body must be a JSON object")
    unknown = sorted(set(body) - set(types))
    if unknown:
        raise error(f"unknown field(s): {', '.join(unknown)}")
    for name, value in body.items():
        allowed = types[name]
        if not isinstance(value, allowed) or (isinstance(value, list) and not all(isinstance(v, str) for v in value)):
            raise error(f"{name} must be {_kind(allowed)}")
    return dict(body)
