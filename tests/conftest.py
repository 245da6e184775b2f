"""Shared fixtures: an app on a fresh database, a browser-like client, a registered relying party.

Helpers live in tests/helpers.py (import them with ``from helpers import ...``; tests/ is on the path).
"""
from __future__ import annotations

import pytest

from helpers import *  # noqa: F401,F403  (re-exported for tests that import them from here)
from helpers import CITIZEN_ID, CITIZEN_PASSWORD, Browser, create_app, make_settings, register, upgrade

# IDP_REQUIRE_BACKENDS=1 (CI) turns skipped PostgreSQL/Redis tests into failures.
pytest_plugins = ["backend_requirements"]


@pytest.fixture
def app(tmp_path):
    app = create_app(make_settings(tmp_path))
    app.config["TESTING"] = True
    upgrade(app)
    with app.app_context():
        app.extensions["idp"].keys.ensure_active_keys()
    yield app
    app.extensions["idp"].notifier.wait_idle(5)


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def citizen(app):
    """The demo citizen; returns its public id (no app context stays pushed, so requests get fresh ones)."""
    from idp.identity.service import create_person
    with app.app_context():
        return create_person(id_number=CITIZEN_ID, name="张三", password=CITIZEN_PASSWORD, phone="13800138000",
                             email="zhangsan@example.gov.cn").public_id


@pytest.fixture
def browser(app):
    return Browser(app.test_client())


@pytest.fixture
def rp(app, browser, citizen):
    return register(app, browser, scopes=("openid", "profile", "email", "phone", "idcard"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_database(request):
    """"sqlite", or the URL of a fresh PostgreSQL database (dropped afterwards)."""
    from helpers import fresh_postgres_database
    if request.param == "sqlite":
        yield "sqlite"
        return
    with fresh_postgres_database() as url:
        yield url
