"""The forward-auth gateway, driven the way nginx auth_request drives it."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest

from idp_rp import ConfigurationError

GATEWAY = "https://oa.example.test/oidc"
SITE = "https://oa.example.test"


@pytest.fixture
def gateway_app(op):
    from idp_gateway import create_app

    op.register("legacy-oa", [GATEWAY + "/callback"])
    return create_app(issuer=op.issuer, client_id="legacy-oa", client_secret="s3cret", base_url=GATEWAY,
                      session_secret="gw-secret", allowed_hosts=["oa.example.test", ".intra.example.test"],
                      cookie_domain="oa.example.test")


def gateway_login(client, op, rd=SITE + "/reports?year=2024"):
    import requests

    resp = client.get("/login", query_string={"rd": rd}, base_url=GATEWAY)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    location = resp.headers["Location"]
    assert location.startswith(op.issuer + "/authorize?")
    approved = requests.get(location, allow_redirects=False, timeout=5)
    callback = urlsplit(approved.headers["Location"])
    assert f"{callback.scheme}://{callback.netloc}{callback.path}" == GATEWAY + "/callback"
    return client.get("/callback?" + callback.query, base_url=GATEWAY)


def test_anonymous_auth_is_401(gateway_app):
    resp = gateway_app.test_client().get("/auth", base_url=GATEWAY)
    assert resp.status_code == 401
    assert "X-Auth-Subject" not in resp.headers


def test_login_then_auth_returns_identity_headers(op, gateway_app):
    client = gateway_app.test_client()
    resp = gateway_login(client, op)
    assert resp.status_code == 302 and resp.headers["Location"] == SITE + "/reports?year=2024"
    set_cookie = resp.headers["Set-Cookie"]
    assert "Domain=oa.example.test" in set_cookie and "Path=/" in set_cookie
    assert "HttpOnly" in set_cookie and "Secure" in set_cookie

    resp = client.get("/auth", base_url=GATEWAY)
    assert resp.status_code == 200
    assert resp.headers["X-Auth-Subject"] == "user-42"
    assert resp.headers["X-Auth-Name"] == quote("张三") and unquote(resp.headers["X-Auth-Name"]) == "张三"
    assert resp.headers["X-Auth-Acr"] == "urn:idp:loa:2"
    assert "X-Auth-Id-Number" not in resp.headers
    assert resp.headers["Cache-Control"] == "no-store"


def test_forged_incoming_identity_headers_are_ignored(op, gateway_app):
    forged = {"X-Auth-Subject": "admin", "X-Auth-Name": "root", "X-Auth-Acr": "urn:idp:loa:4",
              "X-Auth-Id-Number": "110101190001011234"}
    client = gateway_app.test_client()
    anonymous = client.get("/auth", headers=forged, base_url=GATEWAY)
    assert anonymous.status_code == 401
    assert not any(h in anonymous.headers for h in forged)

    gateway_login(client, op)
    resp = client.get("/auth", headers=forged, base_url=GATEWAY)
    assert resp.status_code == 200
    assert resp.headers["X-Auth-Subject"] == "user-42"
    assert resp.headers["X-Auth-Acr"] == "urn:idp:loa:2"
    assert "X-Auth-Id-Number" not in resp.headers
    assert resp.headers.getlist("X-Auth-Subject") == ["user-42"]


def test_id_number_only_when_released(op):
    from idp_gateway import create_app

    op.register("legacy-oa", [GATEWAY + "/callback"])
    app = create_app(issuer=op.issuer, client_id="legacy-oa", client_secret="s3cret", base_url=GATEWAY,
                     session_secret="gw-secret", allowed_hosts="oa.example.test", release_id_number="true")
    client = app.test_client()
    gateway_login(client, op)
    assert client.get("/auth", base_url=GATEWAY).headers["X-Auth-Id-Number"] == "110101199003071234"


@pytest.mark.parametrize("rd", [
    "https://evil.example/phish",
    "//evil.example/phish",
    "https://oa.example.test.evil.example/",
    "https://oa.example.test@evil.example/",
    "javascript:alert(1)",
    "http://oa.example.test/downgrade",
    "https://evil.example\\@oa.example.test/",
    "/\\evil.example",
])
def test_open_redirect_is_refused(gateway_app, rd):
    resp = gateway_app.test_client().get("/login", query_string={"rd": rd}, base_url=GATEWAY)
    assert resp.status_code == 400
    assert "Location" not in resp.headers


@pytest.mark.parametrize("rd", ["https://hr.intra.example.test/x", "/local/path"])
def test_allowed_redirects(op, gateway_app, rd):
    resp = gateway_login(gateway_app.test_client(), op, rd=rd)
    assert resp.headers["Location"] == rd


def test_traefik_forward_auth_redirects_to_login(gateway_app):
    resp = gateway_app.test_client().get("/auth/redirect", base_url=GATEWAY, headers={
        "X-Forwarded-Proto": "https", "X-Forwarded-Host": "oa.example.test", "X-Forwarded-Uri": "/a?b=1"})
    assert resp.status_code == 302
    location = urlsplit(resp.headers["Location"])
    assert location.path == "/oidc/login"
    assert parse_qs(location.query)["rd"] == ["https://oa.example.test/a?b=1"]


def test_backchannel_logout_ends_gateway_session(op, gateway_app):
    client = gateway_app.test_client()
    gateway_login(client, op)
    assert client.get("/auth", base_url=GATEWAY).status_code == 200
    resp = gateway_app.test_client().post("/backchannel-logout", data={"logout_token": op.logout_token("legacy-oa")},
                                          base_url=GATEWAY)
    assert resp.status_code == 200
    assert client.get("/auth", base_url=GATEWAY).status_code == 401


def test_backchannel_logout_refuses_bad_token(op, gateway_app):
    resp = gateway_app.test_client().post("/backchannel-logout",
                                          data={"logout_token": op.logout_token("legacy-oa", nonce="x")},
                                          base_url=GATEWAY)
    assert resp.status_code == 400 and resp.get_json()["error"] == "invalid_request"


def test_logout(op, gateway_app):
    client = gateway_app.test_client()
    gateway_login(client, op)
    resp = client.get("/logout", base_url=GATEWAY)
    location = urlsplit(resp.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == op.issuer + "/logout"
    assert parse_qs(location.query)["post_logout_redirect_uri"] == [GATEWAY + "/signed-out"]
    assert client.get("/auth", base_url=GATEWAY).status_code == 401


def test_required_acr_makes_auth_fail_until_step_up(op):
    from idp_gateway import create_app

    op.register("legacy-oa", [GATEWAY + "/callback"])
    app = create_app(issuer=op.issuer, client_id="legacy-oa", client_secret="s3cret", base_url=GATEWAY,
                     session_secret="gw-secret", allowed_hosts="oa.example.test", required_acr="urn:idp:loa:3")
    client = app.test_client()
    resp = client.get("/login", query_string={"rd": SITE + "/"}, base_url=GATEWAY)
    assert parse_qs(urlsplit(resp.headers["Location"]).query)["acr_values"] == ["urn:idp:loa:3"]
    gateway_login(client, op)
    assert client.get("/auth", base_url=GATEWAY).headers["X-Auth-Acr"] == "urn:idp:loa:3"


def test_configuration_problems_are_listed_together():
    from idp_gateway import load_config

    with pytest.raises(ConfigurationError) as info:
        load_config(environ={"IDP_GATEWAY_CLIENT_ID": "x"})
    text = str(info.value)
    for needed in ("base_url is required", "session_secret is required", "allowed_hosts is required", "ISSUER"):
        assert needed in text


def test_config_file_and_env(tmp_path, op):
    from idp_gateway import load_config

    path = tmp_path / "gw.toml"
    path.write_text(f'issuer = "{op.issuer}"\nclient_id = "legacy-oa"\nclient_secret = "a"\n'
                    f'base_url = "{GATEWAY}"\nsession_secret = "k"\nallowed_hosts = ["oa.example.test"]\n'
                    'port = 4999\n')
    config = load_config(str(path), environ={"IDP_GATEWAY_CLIENT_SECRET": "from-env"})
    assert config.port == 4999 and config.rp.client_secret == "from-env"
    assert config.rp.url_for_path(config.rp.redirect_path) == GATEWAY + "/callback"
