"""What the admin API's route modules share: the JSON error shape and reading a JSON request body."""
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
