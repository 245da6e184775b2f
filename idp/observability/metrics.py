"""Prometheus metrics at /metrics (prometheus_client, one registry per app).

Counted: logins by method and result and tokens by grant type (both from audit events), requests
and their latency by endpoint. Read at scrape time: signing-key age and days to retirement, CA
certificate days to expiry (when a trust store is configured).
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timezone

from flask import Blueprint, Response, abort, current_app, g, has_app_context, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy.exc import SQLAlchemyError

from ..audit import log as audit_log

log = logging.getLogger("idp.metrics")

bp = Blueprint("metrics", __name__)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
DAY = 86400.0


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry(auto_describe=True)
        self.logins = Counter("idp_logins", "Login attempts by method and result.", ["method", "result"],
                              registry=self.registry)
        self.tokens = Counter("idp_tokens_issued", "Tokens issued at the token endpoint by grant type.",
                              ["grant_type"], registry=self.registry)
        self.requests = Counter("idp_http_requests", "HTTP requests by endpoint, method and status.",
                                ["endpoint", "method", "status"], registry=self.registry)
        self.latency = Histogram("idp_http_request_duration_seconds", "Request latency by endpoint.",
                                 ["endpoint", "method"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.registry.register(_LifecycleCollector())
        self._token_children = {}

    def on_audit(self, event: str, data: dict) -> None:
        if event in ("login.success", "login.failure"):
            self.logins.labels(str(data.get("method", "unknown")), event.split(".")[1]).inc()
        elif event == "token.issued":
            grant_type = str(data.get("grant_type", "unknown"))
            child = self._token_children.get(grant_type)
            if child is None:  # labels() costs more than inc(); the grant types are a handful
                child = self._token_children[grant_type] = self.tokens.labels(grant_type)
            child.inc()


def _days(when: datetime | None, now: datetime) -> float | None:
    return None if when is None else (when - now).total_seconds() / DAY


class _LifecycleCollector:
    """Key and CA certificate gauges, computed when Prometheus scrapes (inside the /metrics request)."""

    def describe(self):
        return []

    def collect(self):
        now = datetime.now(timezone.utc)
        age = GaugeMetricFamily("idp_signing_key_age_days", "Age of each published signing key.",
                                labels=["kid", "alg", "status"])
        retire = GaugeMetricFamily("idp_signing_key_days_to_retirement",
                                   "Days until a replaced signing key stops being published.", labels=["kid", "alg"])
        activate = GaugeMetricFamily("idp_signing_key_days_to_activation",
                                     "Days until a pre-published key starts signing.", labels=["kid", "alg"])
        ca = GaugeMetricFamily("idp_ca_certificate_days_to_expiry",
                               "Days until each trusted CA certificate expires.", labels=["profile", "subject"])
        core = current_app.extensions["idp"]
        keys = core.keys
        try:
            rows = keys.list_keys()
        except SQLAlchemyError as exc:  # the scrape still answers; readiness reports the database
            log.warning("signing keys unavailable for metrics: %s", type(exc).__name__)
            rows = []
        for row in rows:
            if row.status == "retired":
                continue
            info = keys.describe(row)
            created = datetime.fromisoformat(info["created_at"])
            age.add_metric([row.kid, row.alg, row.status], (now - created).total_seconds() / DAY)
            if info["retires_at"]:
                retire.add_metric([row.kid, row.alg], _days(datetime.fromisoformat(info["retires_at"]), now))
            if info["activates_at"]:
                activate.add_metric([row.kid, row.alg], _days(datetime.fromisoformat(info["activates_at"]), now))
        trust = getattr(core, "trust", None)
        for name, profile in (trust.profiles.items() if trust is not None else ()):
            for cert in profile.anchors:
                ca.add_metric([name, cert.subject.rfc4514_string()], _days(cert.not_valid_after_utc, now))
        yield from (age, retire, activate, ca)


def _endpoint() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else "unmatched"  # bounded label values


def init_metrics(app) -> None:
    settings = app.config["IDP_SETTINGS"]
    metrics = Metrics()
    app.extensions["idp_metrics"] = metrics
    if _on_audit not in audit_log.listeners:
        audit_log.listeners.append(_on_audit)

    @app.before_request
    def _start_timer():
        g.request_started = time.perf_counter()

    # the labelled children, made once per (endpoint, method, status): labels() is most of a count's cost
    children = {}

    @app.after_request
    def _observe(response):
        started = getattr(g, "request_started", None)
        if started is not None:
            key = (_endpoint(), request.method, response.status_code)
            pair = children.get(key)
            if pair is None:
                pair = children[key] = (metrics.latency.labels(key[0], key[1]),
                                        metrics.requests.labels(key[0], key[1], str(key[2])))
            pair[0].observe(time.perf_counter() - started)
            pair[1].inc()
        return response

    if settings.metrics_enabled:
        app.register_blueprint(bp)


def _on_audit(event: str, data: dict) -> None:
    if not has_app_context():
        return
    metrics = current_app.extensions.get("idp_metrics")
    if metrics is not None:
        metrics.on_audit(event, data)


@bp.get("/metrics")
def metrics_view():
    allow = current_app.extensions["idp"].settings.metrics_allow
    if allow:
        import ipaddress
        from ..http.client_ip import client_ip
        try:
            address = ipaddress.ip_address(client_ip())
        except ValueError:
            abort(403)
        if not any(address in net for net in allow):
            abort(403)
    metrics = current_app.extensions["idp_metrics"]
    return Response(generate_latest(metrics.registry), mimetype=CONTENT_TYPE_LATEST,
                    headers={"Cache-Control": "no-store"})
