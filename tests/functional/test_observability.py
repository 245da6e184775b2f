"""Health probes, Prometheus metrics, request ids and JSON logs."""
from __future__ import annotations

import io
import json
import logging
import re

from helpers import CITIZEN_ID, make_settings


def _metric(text: str, name: str, **labels) -> float | None:
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_readyz_reports_database_and_store(app):
    client = app.test_client()
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"database": "ok", "session_store": "ok"}
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_readyz_fails_when_the_store_is_down(app, monkeypatch):
    monkeypatch.setattr(app.extensions["idp"].store, "ping", lambda: False)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.get_json()["checks"]["session_store"] == "unreachable"


def test_readyz_names_redis_when_it_is_the_backend(tmp_path):
    from idp import create_app
    from idp.storage.memory import MemoryStore
    store = MemoryStore()
    app = create_app(make_settings(tmp_path, session_backend="redis"), store=store)
    from idp.migrate import upgrade
    upgrade(app)
    checks = app.test_client().get("/readyz").get_json()["checks"]
    assert checks == {"database": "ok", "redis": "ok"}


def test_metrics_count_logins_tokens_and_latency(app, rp):
    client = app.test_client()
    before = client.get("/metrics").get_data(as_text=True)
    assert _metric(before, "idp_logins_total", method="password", result="success") is None
    tokens, _ = rp.login_tokens()
    refreshed = rp.browser.client.post("/token", data={"grant_type": "refresh_token",
                                                       "refresh_token": tokens["refresh_token"]}, headers=rp.basic)
    assert refreshed.status_code == 200
    bad = rp.browser.login("/login", password="wrong")
    assert bad.status_code in (200, 400, 401)
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert _metric(text, "idp_logins_total", method="password", result="success") == 1
    assert _metric(text, "idp_logins_total", method="password", result="failure") == 1
    assert _metric(text, "idp_tokens_issued_total", grant_type="authorization_code") == 1
    assert _metric(text, "idp_tokens_issued_total", grant_type="refresh_token") == 1
    assert _metric(text, "idp_http_request_duration_seconds_count", endpoint="/token", method="POST") == 2
    assert _metric(text, "idp_http_requests_total", endpoint="/token", method="POST", status="200") == 2


def test_metrics_show_key_schedule(app):
    with app.app_context():
        manager = app.extensions["idp"].keys
        [pending] = manager.rotate("ES256")
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert _metric(text, "idp_signing_key_age_days", kid=pending.kid, status="pending") is not None
    days = _metric(text, "idp_signing_key_days_to_activation", kid=pending.kid)
    assert days is not None and 0 < days <= 600 / 86400 + 1e-6


def test_metrics_show_ca_days_to_expiry_when_a_trust_store_is_loaded(app):
    trust = getattr(app.extensions["idp"], "trust", None)
    text = app.test_client().get("/metrics").get_data(as_text=True)
    anchors = [(n, c) for n, p in (trust.profiles.items() if trust else ()) for c in p.anchors]
    if anchors:
        name, cert = anchors[0]
        assert _metric(text, "idp_ca_certificate_days_to_expiry", profile=name) is not None
    else:
        assert "idp_ca_certificate_days_to_expiry" in text  # described even with no CA


def test_metrics_can_be_restricted_by_address(tmp_path):
    import ipaddress
    from idp import create_app
    from idp.migrate import upgrade
    app = create_app(make_settings(tmp_path, metrics_allow=(ipaddress.ip_network("10.0.0.0/8"),)))
    upgrade(app)
    assert app.test_client().get("/metrics").status_code == 403
    ok = app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert ok.status_code == 200


def test_request_id_is_echoed_or_generated(app):
    client = app.test_client()
    given = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    generated = client.get("/healthz", headers={"X-Request-ID": "bad id <script>" + "x" * 200})
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["X-Request-ID"])
    assert re.fullmatch(r"[0-9a-f]{32}", client.get("/healthz").headers["X-Request-ID"])


def test_json_logs_carry_the_request_id(app, citizen):
    from idp.observability.logs import configure_logging
    stream = io.StringIO()
    handler = configure_logging("json", "INFO", stream)
    try:
        client = app.test_client()
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
        client.post("/login", data={"csrf_token": token, "username": CITIZEN_ID, "password": "wrong"},
                    headers={"X-Request-ID": "req-42"})
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    audited = [e for e in lines if e["logger"] == "idp.audit" and "login.failure" in e["message"]]
    assert audited and audited[0]["request_id"] == "req-42" and audited[0]["path"] == "/login"
    assert CITIZEN_ID not in stream.getvalue()  # ID numbers are masked in audit data


def test_json_logging_is_chosen_by_setting(tmp_path):
    from idp import create_app
    root = logging.getLogger()
    create_app(make_settings(tmp_path, log_format="json"))
    try:
        ours = [h for h in root.handlers if getattr(h, "_idp_handler", False)]
        assert len(ours) == 1 and type(ours[0].formatter).__name__ == "JsonFormatter"
        create_app(make_settings(tmp_path, log_format="json"))  # idempotent
        assert len([h for h in root.handlers if getattr(h, "_idp_handler", False)]) == 1
    finally:
        for h in [h for h in root.handlers if getattr(h, "_idp_handler", False)]:
            root.removeHandler(h)
