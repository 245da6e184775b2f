"""Every admin page and API route, taken from the URL map, refuses people and tokens without the
administrator role: 403 for a signed-in non-admin and for a non-admin token, a login redirect or 401
for anonymous requests. Routes are generated, so a new admin route is covered without editing this."""
from __future__ import annotations

import pytest

from admin_support import (bearer, client_credentials_token, create_admin, login_citizen, register_api_client)
from helpers import csrf_token, make_settings

SAMPLE_VALUES = {"client_id": "some-client", "service_id": "1", "kid": "some-kid",
                 "authorisation_id": "some-authorisation", "provider_id": "1"}


def admin_routes(app):
    """(method, path) for every admin console and admin API rule, with path parameters filled in."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not (rule.rule.startswith("/admin") or rule.rule.startswith("/api/admin")):
            continue
        missing = set(rule.arguments) - set(SAMPLE_VALUES)
        assert not missing, f"add a sample value for {missing} of {rule.rule}"
        path = rule.build({name: SAMPLE_VALUES[name] for name in rule.arguments}, append_unknown=False)[1]
        routes.extend((method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"}))
    return routes


def _route_ids():
    from idp import create_app
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(make_settings(tmp))
        return admin_routes(app)


ROUTES = _route_ids()
CONSOLE = [r for r in ROUTES if r[1].startswith("/admin")]
API = [r for r in ROUTES if r[1].startswith("/api/admin")]


def test_the_route_list_covers_console_and_api():
    paths = {path for _, path in ROUTES}
    assert {"/admin/", "/admin/keys", "/admin/clients/some-client/edit", "/api/admin/clients",
            "/api/admin/clients/some-client", "/api/admin/keys/rotate", "/api/admin/openapi.json"} <= paths
    assert ("DELETE", "/api/admin/clients/some-client") in ROUTES and ("POST", "/admin/keys/rotate") in ROUTES
    assert {"/admin/cas/", "/admin/cas/new", "/admin/cas/1", "/admin/cas/1/edit", "/admin/certificates",
            "/api/admin/cas-services", "/api/admin/cas-services/1", "/api/admin/certificates"} <= paths
    assert {("POST", "/admin/cas/1/disable"), ("POST", "/admin/cas/1/enable"), ("POST", "/admin/cas/1/delete"),
            ("POST", "/admin/keys/some-kid/retire"), ("POST", "/api/admin/keys/some-kid/retire"),
            ("PATCH", "/api/admin/cas-services/1"), ("DELETE", "/api/admin/cas-services/1")} <= set(ROUTES)


@pytest.fixture
def seeded(app, citizen):
    """A client at the sample client_id and a CAS service at the sample service_id (so that a 403 is not
    a 404 in disguise) and an administrator."""
    from idp.clients.service import register_client
    from idp.protocols.cas.services import register_service
    create_admin(app)
    with app.app_context():
        register_client(name="Target", redirect_uris=["https://t.example.gov.cn/cb"],
                        client_id=SAMPLE_VALUES["client_id"])
        assert register_service(name="Target CAS", service_url="https://cas.example.gov.cn/app").id == 1
    return app


def _client_unchanged(app):
    from idp.clients.service import get_client
    from idp.protocols.cas.services import service_by_id
    with app.app_context():
        client, service = get_client(SAMPLE_VALUES["client_id"]), service_by_id(1)
        return (client.name == "Target" and not client.disabled
                and service is not None and service.name == "Target CAS" and not service.disabled)


@pytest.mark.parametrize("method, path", CONSOLE, ids=[f"{m} {p}" for m, p in CONSOLE])
def test_console_route_forbidden_to_a_non_admin(seeded, method, path):
    client = seeded.test_client()
    login_citizen(client)
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.open(path, method=method, data={"csrf_token": token} if method != "GET" else None)
    assert response.status_code == 403, (method, path, response.status_code)
    assert "仅限管理员" in response.get_data(as_text=True)
    assert _client_unchanged(seeded)


@pytest.mark.parametrize("method, path", CONSOLE, ids=[f"{m} {p}" for m, p in CONSOLE])
def test_console_route_sends_anonymous_visitors_to_login(seeded, method, path):
    client = seeded.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.open(path, method=method, data={"csrf_token": token} if method != "GET" else None)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=/admin")
    assert _client_unchanged(seeded)


@pytest.fixture
def non_admin_token(seeded):
    client_id, secret = register_api_client(seeded, scopes=("openid", "profile"), name="Not admin")
    return client_credentials_token(seeded.test_client(), client_id, secret)


@pytest.mark.parametrize("method, path", API, ids=[f"{m} {p}" for m, p in API])
def test_api_route_forbidden_to_a_non_admin_token(seeded, non_admin_token, method, path):
    response = seeded.test_client().open(path, method=method, headers=bearer(non_admin_token), json={})
    assert response.status_code == 403, (method, path, response.status_code)
    assert response.get_json()["error"] == "insufficient_scope"
    assert _client_unchanged(seeded)


@pytest.mark.parametrize("method, path", API, ids=[f"{m} {p}" for m, p in API])
def test_api_route_forbidden_to_a_non_admin_session(seeded, method, path):
    """A browser session is no credential for the API, even with the CSRF token: 401."""
    client = seeded.test_client()
    login_citizen(client)
    response = client.open(path, method=method, json={})
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    assert _client_unchanged(seeded)


@pytest.mark.parametrize("method, path", API, ids=[f"{m} {p}" for m, p in API])
def test_api_route_without_token_gets_401(seeded, method, path):
    response = seeded.test_client().open(path, method=method, json={})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="idp-admin"')
    assert _client_unchanged(seeded)
