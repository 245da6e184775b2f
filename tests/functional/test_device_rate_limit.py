"""POST /device_authorization is limited per IP address and per client (IDP_DEVICE_CODES_PER_IP and
IDP_DEVICE_CODES_PER_CLIENT, lowered here): past a limit the answer is RFC 8628 3.2 / RFC 6749 5.2
JSON (``slow_down``) with HTTP 429 and Retry-After, audited, and no code is issued."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from helpers import audit_events
from test_device_flow import http, kiosk, start  # noqa: F401 (fixtures)

PER_IP, PER_CLIENT = 3, 5


@pytest.fixture
def app_backend(app_backend):
    """The app of these tests, with its device code limits lowered by its settings."""
    app_backend.overrides.update(device_codes_per_ip=PER_IP, device_codes_per_client=PER_CLIENT)
    return app_backend


@pytest.fixture
def limits(app):
    from idp.protocols.oidc import device_rate
    settings = app.extensions["idp"].settings
    assert (settings.device_codes_per_ip, settings.device_codes_per_client) == (PER_IP, PER_CLIENT)
    return SimpleNamespace(PER_IP=PER_IP, PER_CLIENT=PER_CLIENT, WINDOW=device_rate.WINDOW, module=device_rate)


def ask(http, client_id, ip):
    return http.post("/device_authorization", data={"client_id": client_id, "scope": "openid"},
                     environ_overrides={"REMOTE_ADDR": ip})


def issued_codes(app):
    return [data for _, data in audit_events(app, "device.issued")]


def test_one_address_is_limited_and_others_are_not(app, http, kiosk, limits):
    for _ in range(limits.PER_IP):
        assert ask(http, kiosk, "203.0.113.7").status_code == 200
    refused = ask(http, kiosk, "203.0.113.7")
    assert refused.status_code == 429
    body = refused.get_json()
    assert body["error"] == "slow_down" and "address" in body["error_description"]
    assert 1 <= int(refused.headers["Retry-After"]) <= limits.WINDOW
    assert refused.headers["Cache-Control"] == "no-store"
    assert ask(http, kiosk, "203.0.113.8").status_code == 200  # another address still gets codes
    assert len(issued_codes(app)) == limits.PER_IP + 1
    throttled = [data for _, data in audit_events(app, "device.throttled")]
    assert throttled == [{"client_id": kiosk, "ip": "203.0.113.7", "limit": "address"}]


def test_one_client_is_limited_across_addresses(app, http, kiosk, limits):
    for n in range(limits.PER_CLIENT):
        assert ask(http, kiosk, f"198.51.100.{n}").status_code == 200
    refused = ask(http, kiosk, "198.51.100.200")
    assert refused.status_code == 429 and refused.get_json()["error"] == "slow_down"
    assert "client" in refused.get_json()["error_description"]
    assert len(issued_codes(app)) == limits.PER_CLIENT
    assert [data["limit"] for _, data in audit_events(app, "device.throttled")] == ["client"]


def test_a_refused_address_is_not_charged_to_the_client(app, http, kiosk, limits):
    for _ in range(limits.PER_IP + 10):
        ask(http, kiosk, "192.0.2.1")
    for n in range(limits.PER_CLIENT - limits.PER_IP):
        assert ask(http, kiosk, f"192.0.2.{10 + n}").status_code == 200


def test_requests_that_fail_authentication_or_validation_are_not_counted(app, http, kiosk, limits):
    for _ in range(limits.PER_IP + 3):
        assert ask(http, "no-such-client", "203.0.113.9").get_json()["error"] == "invalid_client"
        bad_scope = http.post("/device_authorization", data={"client_id": kiosk, "scope": "admin"},
                              environ_overrides={"REMOTE_ADDR": "203.0.113.9"})
        assert bad_scope.status_code == 400
    assert ask(http, kiosk, "203.0.113.9").status_code == 200


def test_the_window_turns_over(app, http, kiosk, limits, monkeypatch):
    clock = [10_000 * limits.WINDOW + 5.0]
    monkeypatch.setattr(limits.module, "time", SimpleNamespace(time=lambda: clock[0]))
    for _ in range(limits.PER_IP):
        ask(http, kiosk, "203.0.113.10")
    refused = ask(http, kiosk, "203.0.113.10")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == str(limits.WINDOW - 5)
    clock[0] += limits.WINDOW
    assert ask(http, kiosk, "203.0.113.10").status_code == 200
