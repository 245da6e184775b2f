"""The demo portal, started in-process against the fake provider."""

from __future__ import annotations

import pytest

from idp_rp import ConfigurationError

from .conftest import provider_redirect


@pytest.fixture
def portals(op):
    from demo_portal import create_app

    op.register("portal-a", ["http://localhost:9001/oidc/callback"])
    op.register("portal-b", ["http://localhost:9002/oidc/callback"])
    a = create_app(title="门户甲 / Portal A", port=9001, issuer=op.issuer, client_id="portal-a",
                   client_secret="s3cret", other_portal_url="http://localhost:9002/profile", secret_key="a")
    b = create_app(title="门户乙 / Portal B", port=9002, issuer=op.issuer, client_id="portal-b",
                   client_secret="s3cret", other_portal_url="http://localhost:9001/profile", secret_key="b")
    return a, b


def test_home_shows_login_button_when_anonymous(portals):
    a, _ = portals
    page = a.test_client().get("/", base_url="http://localhost:9001").get_data(as_text=True)
    assert "门户甲 / Portal A" in page
    assert "您尚未登录" in page and "/oidc/login?next=/profile" in page


def test_login_profile_other_portal_and_logout(op, portals):
    a, b = portals
    client_a = a.test_client()
    url, params = follow_to_provider_at(client_a, "http://localhost:9001", "/profile")
    assert params["client_id"] == "portal-a"
    resp = client_a.get(provider_redirect(url), base_url="http://localhost:9001")
    assert resp.headers["Location"] == "/profile"
    page = client_a.get("/profile", base_url="http://localhost:9001").get_data(as_text=True)
    for text in ('<td id="name">张三</td>', '<td id="sub">user-42</td>', '<td id="acr">urn:idp:loa:2</td>',
                 '<td id="amr">pwd</td>', f'<td id="sid">{op.sid}</td>', 'href="http://localhost:9002/profile"'):
        assert text in page

    client_b = b.test_client()
    url, params = follow_to_provider_at(client_b, "http://localhost:9002", "/profile")
    assert params["client_id"] == "portal-b"
    client_b.get(provider_redirect(url), base_url="http://localhost:9002")
    assert "user-42" in client_b.get("/profile", base_url="http://localhost:9002").get_data(as_text=True)

    resp = client_a.get("/oidc/logout", base_url="http://localhost:9001")
    assert resp.headers["Location"].startswith(op.issuer + "/logout?")
    assert "post_logout_redirect_uri=http%3A%2F%2Flocalhost%3A9001%2F" in resp.headers["Location"]
    assert "您尚未登录" in client_a.get("/", base_url="http://localhost:9001").get_data(as_text=True)


def test_sensitive_page_steps_up(op, portals):
    a, _ = portals
    client = a.test_client()
    url, _ = follow_to_provider_at(client, "http://localhost:9001", "/profile")
    client.get(provider_redirect(url), base_url="http://localhost:9001")
    url, params = follow_to_provider_at(client, "http://localhost:9001", "/sensitive")
    assert params["acr_values"] == "urn:idp:loa:3" and params["prompt"] == "login"
    client.get(provider_redirect(url), base_url="http://localhost:9001")
    page = client.get("/sensitive", base_url="http://localhost:9001").get_data(as_text=True)
    assert '<strong id="acr">urn:idp:loa:3</strong>' in page


def test_missing_issuer_is_a_clear_error(monkeypatch):
    from demo_portal import create_app

    monkeypatch.delenv("DEMO_PORTAL_ISSUER", raising=False)
    with pytest.raises(ConfigurationError, match="ISSUER is required"):
        create_app(client_id="x", client_secret="y")


def follow_to_provider_at(client, base_url, path):
    resp = client.get(path, base_url=base_url)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    from urllib.parse import parse_qs, urlsplit

    location = resp.headers["Location"]
    return location, {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
