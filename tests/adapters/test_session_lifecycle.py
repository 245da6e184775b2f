"""Refresh, RP-initiated logout and acr step-up."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from .conftest import CLIENT_ID, follow_to_provider, login, make_site, provider_redirect


def test_expired_access_token_is_refreshed(op):
    op.access_token_ttl = 20  # inside the adapter's refresh margin: every request refreshes
    app, ext = make_site(op)
    client = app.test_client()
    assert login(client).status_code == 302
    session = ext.rp.store.find_by_sub("user-42")[0]
    old_access, old_refresh = session.access_token, session.refresh_token

    assert client.get("/profile").status_code == 200
    refreshed = ext.rp.store.find_by_sub("user-42")[0]
    assert refreshed.access_token != old_access
    assert refreshed.refresh_token != old_refresh
    assert op.last("token")["grant_type"] == "refresh_token"
    assert op.last("token")["refresh_token"] == old_refresh


def test_fresh_access_token_is_not_refreshed(op, site):
    app, ext = site
    client = app.test_client()
    assert login(client).status_code == 302
    client.get("/profile")
    client.get("/profile")
    assert [p["grant_type"] for e, p in op.requests if e == "token"] == ["authorization_code"]


def test_refused_refresh_ends_the_login(op):
    op.access_token_ttl = 20
    app, ext = make_site(op)
    client = app.test_client()
    assert login(client).status_code == 302
    op.refresh_error = "invalid_grant"
    resp = client.get("/profile")
    assert resp.status_code == 302 and resp.headers["Location"].startswith(op.issuer + "/authorize")


def test_rp_initiated_logout(op, site):
    app, ext = site
    client = app.test_client()
    assert login(client).status_code == 302
    id_token = ext.rp.store.find_by_sub("user-42")[0].id_token
    resp = client.get("/oidc/logout")
    assert resp.status_code == 302
    parts = urlsplit(resp.headers["Location"])
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == op.issuer + "/logout"
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert params["id_token_hint"] == id_token
    assert params["post_logout_redirect_uri"] == "http://localhost/"
    assert params["client_id"] == CLIENT_ID
    assert params["state"]
    assert client.get("/").get_data(as_text=True) == "anonymous"
    assert ext.rp.store.find_by_sub("user-42") == []


def test_step_up_redirects_with_acr_values_and_prompt_login(op, site):
    app, ext = site
    client = app.test_client()
    assert login(client).status_code == 302
    assert client.get("/profile").get_json()["acr"] == "urn:idp:loa:2"

    url, params = follow_to_provider(client, "/strong")
    assert params["acr_values"] == "urn:idp:loa:3"
    assert params["prompt"] == "login"
    resp = client.get(provider_redirect(url))
    assert resp.headers["Location"] == "/strong"
    assert client.get("/strong").get_json() == {"acr": "urn:idp:loa:3"}


def test_anonymous_step_up_asks_for_acr_without_prompt(op, site):
    app, _ = site
    _, params = follow_to_provider(app.test_client(), "/strong")
    assert params["acr_values"] == "urn:idp:loa:3"
    assert "prompt" not in params


def test_provider_returning_lower_acr_is_refused(op, site):
    app, _ = site
    client = app.test_client()
    op.id_token_overrides["acr"] = "urn:idp:loa:1"
    url, _ = follow_to_provider(client, "/strong")
    resp = client.get(provider_redirect(url))
    assert resp.status_code == 403
    assert "urn:idp:loa:1" in resp.get_data(as_text=True)


def test_required_acr_config_applies_to_login_required(op):
    app, _ = make_site(op, required_acr="urn:idp:loa:3 urn:idp:loa:4")
    _, params = follow_to_provider(app.test_client(), "/profile")
    assert params["acr_values"] == "urn:idp:loa:3 urn:idp:loa:4"
