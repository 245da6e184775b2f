"""Shared fixtures: an app on a fresh database, a browser-like client, a registered relying party.

The ``app`` keeps its data in SQLite (ephemeral state in SQL too). A module marked
``pytestmark = pytest.mark.every_backend`` runs each of its tests three times instead, once per
:data:`APP_BACKENDS` entry (``every_backend("sqlite", "postgres")``: those named); the PostgreSQL and
Redis runs skip when the server does not answer, and fail then under IDP_REQUIRE_BACKENDS=1.
IDP_TEST_APP_BACKEND=<name> runs the other tests' app on that one backend.

Helpers live in tests/helpers.py (import them with ``from helpers import ...``; tests/ is on the path).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, settings

from backends import (empty_postgres_schema, empty_postgres_tables, fresh_postgres_database, fresh_redis_prefix,
                      redis_url_or_skip)
from helpers import *  # noqa: F401,F403  (re-exported for tests that import them from here)
from helpers import CITIZEN_ID, CITIZEN_PASSWORD, Browser, create_app, make_settings, register, upgrade

# Property tests assert outcomes, never speed: a per-example deadline or the "too slow" health check only
# measures how busy the machine is (the suite shares two cores with servers and browsers it starts).
settings.register_profile("idp", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("idp")

# IDP_REQUIRE_BACKENDS=1 (CI) turns skipped PostgreSQL/Redis tests into failures.
pytest_plugins = ["backend_requirements"]

# IDP_TEST_APP_BACKEND=postgres (or redis, sqlite) puts every other test's app on that backend too
APP_BACKEND_ENV = "IDP_TEST_APP_BACKEND"
# name: (what the app runs on, marks); between them they cover both databases and every ephemeral store
APP_BACKENDS = {
    "sqlite": ("SQLite, ephemeral state in memory", ()),
    "postgres": ("PostgreSQL, ephemeral state in SQL", (pytest.mark.postgres,)),
    "redis": ("PostgreSQL, ephemeral state in Redis", (pytest.mark.postgres, pytest.mark.redis)),
}


def pytest_generate_tests(metafunc):
    if "app_backend" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("every_backend")
    if marker is not None:
        names = marker.args or tuple(APP_BACKENDS)  # every_backend("sqlite", "postgres"): only these
    elif os.environ.get(APP_BACKEND_ENV):
        names = (os.environ[APP_BACKEND_ENV],)
    else:
        return
    metafunc.parametrize("app_backend", [pytest.param(name, marks=APP_BACKENDS[name][1], id=name)
                                         for name in names], indirect=True)


@dataclass
class AppBackend:
    """Where a test's app keeps its data: settings that differ from make_settings' and, for Redis, the
    ephemeral store to give create_app (one with a key prefix of the test's own)."""

    name: str
    overrides: dict = field(default_factory=dict)
    store: object = None


def _migrate(url, directory) -> set[str]:
    """Migrate the database at ``url`` to the newest revision; returns the names of its tables."""
    from sqlalchemy import inspect

    from idp.extensions import db
    app = create_app(make_settings(directory, database_url=url))
    upgrade(app)
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
        db.engine.dispose()
    return tables


@pytest.fixture(scope="session")
def pg_app_database(tmp_path_factory):
    """(URL, table names) of a PostgreSQL database migrated to the newest revision for the apps of the
    whole run, dropped at the end; pg_app_url empties it before each test (much quicker than a
    database per test)."""
    with fresh_postgres_database("idp_app") as url:
        yield url, _migrate(url, tmp_path_factory.mktemp("pg_app"))


@pytest.fixture
def pg_app_url(pg_app_database, tmp_path):
    """The URL of pg_app_database with every table empty (and rebuilt if a test before dropped one)."""
    url, tables = pg_app_database
    if not empty_postgres_tables(url, expected=tables):
        empty_postgres_schema(url)
        _migrate(url, tmp_path)
    return url


@pytest.fixture
def app_backend(request):
    name = getattr(request, "param", None)
    if name is None:
        yield AppBackend("default")
    elif name == "sqlite":
        yield AppBackend(name, {"session_backend": "memory"})
    elif name == "postgres":
        yield AppBackend(name, {"database_url": request.getfixturevalue("pg_app_url"), "session_backend": "sql"})
    else:
        import redis

        from idp.storage.redis import RedisStore
        redis_url = redis_url_or_skip()
        url = request.getfixturevalue("pg_app_url")
        with fresh_redis_prefix(redis_url) as prefix:
            client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
            try:
                yield AppBackend(name, {"database_url": url, "session_backend": "redis", "redis_url": redis_url},
                                 RedisStore(client, prefix))
            finally:
                client.close()


@pytest.fixture
def pg_database_url():
    """A new PostgreSQL database of the test's own (skips when there is no server), dropped afterwards."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def app(tmp_path, app_backend):
    from idp.extensions import db

    app = create_app(make_settings(tmp_path, **app_backend.overrides), store=app_backend.store)
    app.config["TESTING"] = True
    upgrade(app)
    with app.app_context():
        app.extensions["idp"].keys.ensure_active_keys()
    yield app
    app.extensions["idp"].notifier.wait_idle(5)
    with app.app_context():
        db.engine.dispose()  # no connection left open to a database the next test empties or drops


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """The demo PKI (three CAs encoding the same citizen three ways), generated once per test session."""
    from helpers import DemoPki
    return DemoPki.generate(tmp_path_factory.mktemp("demo-pki"))


@pytest.fixture
def pki_app(tmp_path, pki):
    """An app on SQLite whose trust profiles are the demo PKI's CAs (a module names it ``app`` to use it)."""
    from helpers import app_on, dispose_app
    app = app_on(tmp_path, "sqlite", trust_profiles_dir=str(pki.profiles))
    yield app
    dispose_app(app)


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
    if request.param == "sqlite":
        yield "sqlite"
        return
    with fresh_postgres_database() as url:
        yield url
