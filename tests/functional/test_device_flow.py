"""The device authorization grant (RFC 8628) over HTTP: a kiosk asks for a code, a person approves it on
the verification page, the kiosk's polling gets every answer RFC 8628 3.5 defines."""
from __future__ import annotations

import base64
import re

import pytest
from werkzeug.datastructures import MultiDict

from helpers import CITIZEN_ID, CITIZEN_PASSWORD, audit_events, csrf_token, decode_jwt

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def kiosk(app, citizen):
    """A public device client (no secret, no redirect URI)."""
    from idp.clients.service import register_client
    with app.app_context():
        registered = register_client(name="政务服务大厅自助机", redirect_uris=[], public=True,
                                     scopes=["openid", "profile"], grant_types=[DEVICE_GRANT, "refresh_token"],
                                     first_party=False)
        return registered.client.client_id


@pytest.fixture
def http(app):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"  # the pages' English words, unless a test asks for zh
    return client


def start(http, client_id, scope="openid profile", **extra):
    response = http.post("/device_authorization", data={"client_id": client_id, "scope": scope, **extra})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_json()


def poll(http, client_id, device_code):
    return http.post("/token", data={"grant_type": DEVICE_GRANT, "device_code": device_code,
                                     "client_id": client_id})


def log_in(http, next_path="/device"):
    page = http.get("/login?next=" + next_path)
    response = http.post("/login", data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                         "username": CITIZEN_ID, "password": CITIZEN_PASSWORD, "next": next_path})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def enter(http, user_code):
    page = http.get("/device")
    assert page.status_code == 200
    return http.post("/device", data={"csrf_token": csrf_token(page.get_data(as_text=True)), "user_code": user_code})


def answer(http, confirm_page, decision):
    html = confirm_page.get_data(as_text=True)
    user_code = re.search(r'name="user_code" value="([^"]+)"', html).group(1)
    return http.post("/device/decision", data={"csrf_token": csrf_token(html), "user_code": user_code,
                                               "decision": decision})


def test_the_full_flow(app, http, kiosk):
    grant = start(http, kiosk)
    assert re.fullmatch(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}", grant["user_code"])
    assert grant["verification_uri"] == "http://localhost/device"
    assert grant["verification_uri_complete"] == f"http://localhost/device?user_code={grant['user_code']}"
    assert grant["expires_in"] == 600 and grant["interval"] == 5

    pending = poll(http, kiosk, grant["device_code"])
    assert pending.status_code == 400 and pending.get_json()["error"] == "authorization_pending"

    # The person opens verification_uri_complete, is sent to log in, and comes back with the code filled in.
    opened = http.get("/device?user_code=" + grant["user_code"])
    assert opened.status_code == 302 and opened.headers["Location"].startswith("/login?next=")
    back = log_in(http, "/device?user_code=" + grant["user_code"])
    assert back == "/device?user_code=" + grant["user_code"]
    form = http.get(back)
    assert f'value="{grant["user_code"]}"' in form.get_data(as_text=True)

    confirm = enter(http, grant["user_code"].lower().replace("-", " "))  # typed loosely
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200
    assert "政务服务大厅自助机" in html and grant["user_code"] in html
    done = answer(http, confirm, "allow")
    assert done.status_code == 200 and "政务服务大厅自助机" in done.get_data(as_text=True)

    tokens = poll(http, kiosk, grant["device_code"])
    assert tokens.status_code == 200, tokens.get_json()
    body = tokens.get_json()
    assert body["token_type"].lower() == "bearer" and body["refresh_token"] and body["scope"] == "openid profile"
    access = decode_jwt(app, body["access_token"]).claims
    id_token = decode_jwt(app, body["id_token"]).claims
    assert id_token["aud"] == [kiosk] and id_token["name"] == "张三"
    # The tokens carry the approving session's authentication.
    assert id_token["acr"] == access["acr"] == "urn:idp:loa:1"
    assert id_token["amr"] == access["amr"] == ["pwd"]
    assert id_token["sid"]
    userinfo = http.get("/userinfo", headers={"Authorization": "Bearer " + body["access_token"]})
    assert userinfo.status_code == 200 and userinfo.get_json()["sub"] == id_token["sub"]
    refreshed = http.post("/token", data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"],
                                          "client_id": kiosk})
    assert refreshed.status_code == 200, refreshed.get_json()
    assert decode_jwt(app, refreshed.get_json()["access_token"]).claims["acr"] == "urn:idp:loa:1"

    # The consent is remembered as in the code flow, and every step is audited.
    from idp.protocols.oidc.consent import has_consent
    from sqlalchemy import select

    from idp.extensions import db
    from idp.identity.models import Person
    with app.app_context():
        person_id = db.session.scalar(select(Person.id))
        assert has_consent(person_id, kiosk, "openid profile")
    events = [event for event, _data in audit_events(app, "device.")]
    assert events == ["device.issued", "device.approved"]
    issued = audit_events(app, "token.issued")
    assert [data["grant_type"] for _, data in issued] == [DEVICE_GRANT, "refresh_token"]
    assert issued[0][1]["client_id"] == kiosk

    # A device code yields tokens once.
    again = poll(http, kiosk, grant["device_code"])
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"
    assert audit_events(app, "device.replay")


def test_denial_is_access_denied(app, http, kiosk):
    grant = start(http, kiosk)
    log_in(http)
    done = answer(http, enter(http, grant["user_code"]), "deny")
    assert done.status_code == 200
    for _ in range(2):  # and it stays so
        denied = poll(http, kiosk, grant["device_code"])
        assert denied.status_code == 400 and denied.get_json()["error"] == "access_denied"
    assert [e for e, _ in audit_events(app, "device.denied")] == ["device.denied"]
    # The code cannot be approved after the denial.
    refused = enter(http, grant["user_code"])
    assert refused.status_code == 400 and "already been used" in refused.get_data(as_text=True)


def test_polling_too_fast_slows_down(app, http, kiosk):
    grant = start(http, kiosk)
    assert poll(http, kiosk, grant["device_code"]).get_json()["error"] == "authorization_pending"
    fast = poll(http, kiosk, grant["device_code"])
    assert fast.status_code == 400
    assert fast.get_json()["error"] == "slow_down"
    assert "10 seconds" in fast.get_json()["error_description"]
    fast = poll(http, kiosk, grant["device_code"])
    assert fast.get_json()["error"] == "slow_down" and "15 seconds" in fast.get_json()["error_description"]
    throttled = audit_events(app, "device.slow_down")
    assert [data["interval"] for _, data in throttled] == [10, 15]


def test_expired_codes(app, http, kiosk):
    grant = start(http, kiosk)
    _expire(app, grant["device_code"])
    for _ in range(2):
        expired = poll(http, kiosk, grant["device_code"])
        assert expired.status_code == 400 and expired.get_json()["error"] == "expired_token"
    assert len(audit_events(app, "device.expired")) == 1  # one record per request, not per poll

    log_in(http)
    page = enter(http, grant["user_code"])
    assert page.status_code == 400
    assert "This code has expired" in page.get_data(as_text=True)
    assert audit_events(app, "device.user_code_refused")[-1][1]["reason"] == "expired"


def _expire(app, device_code):
    from idp.protocols.oidc import device_grant
    from idp.storage.token_models import token_hash
    store = app.extensions["idp"].store
    with app.app_context():
        record = store.get(device_grant.REQUEST, token_hash(device_code))
        record["expires_at"] -= device_grant.EXPIRES_IN + 1
        store.put(device_grant.REQUEST, token_hash(device_code), record, 600)


def test_unknown_user_codes_are_refused_and_guessing_is_throttled(app, http, kiosk):
    from idp.protocols.oidc.device import USER_CODE_MAX_FAILURES
    grant = start(http, kiosk)
    log_in(http)
    for typed in ["BCDF-GHJK", "hello", "", "1234-5678", "ＢＣＤＦ-ＧＨＪＫ" * 3]:
        refused = enter(http, typed)
        assert refused.status_code == 400, typed
        assert "This code is not valid" in refused.get_data(as_text=True)
    for _ in range(USER_CODE_MAX_FAILURES - 5):
        enter(http, "BCDF-GHJK")
    locked = enter(http, grant["user_code"])  # even the right code, once locked
    assert locked.status_code == 429
    assert "Too many wrong codes" in locked.get_data(as_text=True)
    reasons = [data["reason"] for _, data in audit_events(app, "device.user_code_refused")]
    assert reasons == ["unknown"] * USER_CODE_MAX_FAILURES
    assert audit_events(app, "device.user_code_throttled")


def test_pages_in_chinese(http, kiosk):
    grant = start(http, kiosk)
    log_in(http)
    http.get("/device", headers={"Accept-Language": "zh-CN"})
    page = http.get("/device", headers={"Accept-Language": "zh-CN"})
    assert "连接设备" in page.get_data(as_text=True)
    refused = http.post("/device", data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                         "user_code": "BCDF-GHJK"}, headers={"Accept-Language": "zh-CN"})
    assert "设备码无效" in refused.get_data(as_text=True)
    confirm = http.post("/device", data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                         "user_code": grant["user_code"]}, headers={"Accept-Language": "zh-CN"})
    assert "要在设备上登录 政务服务大厅自助机 吗？" in confirm.get_data(as_text=True)


def test_the_decision_needs_the_csrf_token(http, kiosk):
    grant = start(http, kiosk)
    log_in(http)
    forged = http.post("/device/decision", data={"user_code": grant["user_code"], "decision": "allow"})
    assert forged.status_code == 400
    assert poll(http, kiosk, grant["device_code"]).get_json()["error"] == "authorization_pending"


@pytest.mark.parametrize("data, error, status", [
    ({"client_id": "nobody"}, "invalid_client", 400),
    ({}, "invalid_client", 401),
    ({"scope": "openid admin"}, "invalid_scope", 400),
])
def test_bad_device_authorization_requests(http, kiosk, data, error, status):
    if "client_id" not in data and data:
        data = {"client_id": kiosk, **data}
    response = http.post("/device_authorization", data=data)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.get_json()["error"] == error


def test_a_client_without_the_grant_is_refused(app, http, rp):
    response = http.post("/device_authorization", data={"scope": "openid"}, headers=rp.basic)
    assert response.status_code == 400 and response.get_json()["error"] == "unauthorized_client"


def test_a_confidential_device_client_authenticates_by_its_method(app, http, citizen):
    from idp.clients.service import register_client
    with app.app_context():
        registered = register_client(name="会议室电视", redirect_uris=[], scopes=["openid", "profile"],
                                     grant_types=[DEVICE_GRANT], auth_method="client_secret_basic")
    client_id, secret = registered.client.client_id, registered.client_secret
    basic = {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}
    public_try = http.post("/device_authorization", data={"client_id": client_id})
    assert public_try.status_code == 401 and public_try.get_json()["error"] == "invalid_client"
    grant = http.post("/device_authorization", data={"scope": "openid"}, headers=basic).get_json()
    unauthenticated = poll(http, client_id, grant["device_code"])
    assert unauthenticated.get_json()["error"] == "invalid_client"
    pending = http.post("/token", data={"grant_type": DEVICE_GRANT, "device_code": grant["device_code"]},
                        headers=basic)
    assert pending.get_json()["error"] == "authorization_pending"


def test_bad_token_requests(app, http, kiosk):
    missing = http.post("/token", data={"grant_type": DEVICE_GRANT, "client_id": kiosk})
    assert missing.status_code == 400 and missing.get_json()["error"] == "invalid_request"
    unknown = poll(http, kiosk, "not-a-device-code")
    assert unknown.status_code == 400 and unknown.get_json()["error"] == "invalid_grant"
    assert audit_events(app, "device.unknown_code")


def test_discovery_advertises_the_device_flow(http):
    metadata = http.get("/.well-known/openid-configuration").get_json()
    assert metadata["device_authorization_endpoint"] == "http://localhost/device_authorization"
    assert DEVICE_GRANT in metadata["grant_types_supported"]


def test_device_errors_are_json_and_page_errors_are_pages(http, kiosk):
    wrong_method = http.get("/device_authorization")
    assert wrong_method.status_code == 405 and wrong_method.get_json()["error"] == "invalid_request"
    control = http.post("/device_authorization", data={"client_id": kiosk, "scope": "openid\x00"})
    assert control.status_code == 400 and control.get_json()["error"] == "invalid_request"
    twice = http.post("/device_authorization", data=MultiDict([("client_id", kiosk), ("scope", "openid"),
                                                               ("scope", "profile")]))
    assert twice.status_code == 400 and twice.get_json()["error_description"] == "Multiple 'scope' in request."
    grant = start(http, kiosk)
    two_codes = http.post("/token", data=MultiDict([("grant_type", DEVICE_GRANT), ("client_id", kiosk),
                                                    ("device_code", grant["device_code"]), ("device_code", "x")]))
    assert two_codes.status_code == 400 and two_codes.get_json()["error"] == "invalid_request"
    log_in(http)
    page = http.post("/device", data={"user_code": "BCDF-GHJK"})  # no CSRF token
    assert page.status_code == 400 and page.mimetype == "text/html"


def test_a_device_with_a_key_authenticates_by_private_key_jwt(app, http, citizen):
    from authlib.oauth2.rfc7523 import private_key_jwt_sign
    from joserfc.jwk import ECKey

    from idp.clients.service import register_client
    key = ECKey.generate_key("P-256", parameters={"kid": "tv-1", "alg": "ES256"})
    with app.app_context():
        client_id = register_client(name="大厅电视", redirect_uris=[], scopes=["openid"], grant_types=[DEVICE_GRANT],
                                    auth_method="private_key_jwt",
                                    jwks={"keys": [key.as_dict(private=False)]}).client.client_id

    def assertion(audience):
        return {"client_assertion": private_key_jwt_sign(key, client_id, audience, alg="ES256",
                                                         header={"kid": "tv-1"}),
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}

    grant = http.post("/device_authorization", data={"scope": "openid",
                                                     **assertion("http://localhost/device_authorization")})
    assert grant.status_code == 200, grant.get_json()
    pending = http.post("/token", data={"grant_type": DEVICE_GRANT, "device_code": grant.get_json()["device_code"],
                                        **assertion("http://localhost/token")})
    assert pending.get_json()["error"] == "authorization_pending"
    wrong_audience = http.post("/device_authorization", data={"scope": "openid", **assertion("http://x/")})
    assert wrong_audience.get_json()["error"] == "invalid_client"


def test_dynamic_registration_of_a_device_client(app, http):
    from idp.protocols.oidc.registration_tokens import issue_initial_token
    with app.app_context():
        initial = issue_initial_token(uses=1)["token"]
    registered = http.post("/register", json={"client_name": "自助机", "grant_types": [DEVICE_GRANT],
                                              "token_endpoint_auth_method": "none", "scope": "openid profile"},
                           headers={"Authorization": "Bearer " + initial})
    assert registered.status_code == 201, registered.get_json()
    body = registered.get_json()
    assert body["grant_types"] == [DEVICE_GRANT] and body["response_types"] == []
    assert start(http, body["client_id"])["user_code"]
