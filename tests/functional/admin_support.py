"""Shared helpers of the admin tests: an administrator, console logins, admin-scoped API tokens."""
from __future__ import annotations

import base64

import pytest

from helpers import CITIZEN_ID, CITIZEN_PASSWORD, csrf_token

ADMIN_ID = "110101199003074477"
ADMIN_PASSWORD = "admin pass phrase 2026"


def create_admin(app) -> str:
    from idp.identity.service import create_person
    with app.app_context():
        return create_person(id_number=ADMIN_ID, name="管理员", password=ADMIN_PASSWORD, is_admin=True).public_id


def console_login(client, username=ADMIN_ID, password=ADMIN_PASSWORD, next_path="/admin/"):
    """Log in through the normal login page; returns the redirect response."""
    page = client.get("/login?next=" + next_path)
    assert page.status_code == 200
    return client.post("/login", data={"csrf_token": csrf_token(page.get_data(as_text=True)), "username": username,
                                       "password": password, "next": next_path})


def login_citizen(client):
    response = console_login(client, CITIZEN_ID, CITIZEN_PASSWORD, next_path="/account")
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def register_api_client(app, scopes=("admin",), name="Automation"):
    from idp.clients.service import register_client
    with app.app_context():
        registered = register_client(name=name, redirect_uris=[], scopes=list(scopes),
                                     grant_types=["client_credentials"])
        return registered.client.client_id, registered.client_secret


def client_credentials_token(client, client_id, secret, scope=None):
    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    response = client.post("/token", data=data, headers={"Authorization": "Basic " + basic})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["access_token"]


def admin_token(app, client) -> str:
    client_id, secret = register_api_client(app)
    return client_credentials_token(client, client_id, secret, "admin")


def bearer(token: str) -> dict:
    return {"Authorization": "Bearer " + token}


def page(client, path):
    """The HTML of a console page that must answer 200."""
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def post_form(client, path, form_page, data):
    """Post ``data`` to ``path`` with the CSRF token of the form on ``form_page``."""
    return client.post(path, data={"csrf_token": csrf_token(page(client, form_page)), **data})


# Fixtures of the registry tests (CAS services, SAML service providers): import them by name.
@pytest.fixture
def console(app):
    """A test client logged in to the console as an administrator."""
    create_admin(app)
    client = app.test_client()
    assert console_login(client).status_code == 302
    return client


@pytest.fixture
def http(app):
    return app.test_client()


@pytest.fixture
def token(app, http):
    return admin_token(app, http)
