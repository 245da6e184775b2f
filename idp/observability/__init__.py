"""Operational visibility: Prometheus metrics, structured logs with a request id."""
from __future__ import annotations


def init_observability(app) -> None:
    from .logs import init_logging
    from .metrics import init_metrics
    init_logging(app)
    init_metrics(app)
