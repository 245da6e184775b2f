"""Liveness and readiness probes."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from ..extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any driver error means not ready
        checks["database"] = f"unreachable: {type(exc).__name__}"
        db.session.rollback()  # hand the connection back to the pool clean (a dead one is discarded)
    core = current_app.extensions["idp"]
    name = "redis" if core.settings.session_backend == "redis" else "session_store"
    try:
        reachable = core.store.ping()
    except Exception:  # noqa: BLE001 - a store that raises is as unreachable as one that says so
        reachable = False
    checks[name] = "ok" if reachable else "unreachable"
    ready = all(v == "ok" for v in checks.values())
    return jsonify(status="ready" if ready else "not ready", checks=checks), 200 if ready else 503
