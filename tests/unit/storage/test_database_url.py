"""IDP_DATABASE_URL: libpq's host list of a primary with standbys reaches libpq, and the pool settings
reach SQLAlchemy's pool."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from backends import postgres_url_or_skip
from idp import create_app
from idp.config import Settings
from idp.errors import ConfigError
from idp.extensions import db
from idp.storage.database_url import database_uri

import dockerfile
import helpers


@pytest.mark.parametrize("url, expected", [
    ("postgresql://idp:pw@db1:5432,db2:5433/idp?target_session_attrs=read-write",
     "postgresql+psycopg://idp:pw@/idp?host=db1:5432&host=db2:5433&target_session_attrs=read-write"),
    ("postgresql+psycopg://db1,db2/idp", "postgresql+psycopg:///idp?host=db1&host=db2"),
    ("postgresql://u@[fd00::1]:5432,db2/idp", "postgresql+psycopg://u@/idp?host=[fd00::1]:5432&host=db2"),
    ("postgresql://u@db1:5432/idp?sslmode=require", "postgresql+psycopg://u@db1:5432/idp?sslmode=require"),
    ("sqlite:///var/idp.db", "sqlite:///var/idp.db"),
])
def test_host_lists_become_repeated_host_parameters(url, expected):
    assert database_uri(url) == expected


hosts = st.lists(st.tuples(st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z0-9-]{1,10}){0,3}", fullmatch=True),
                           st.one_of(st.none(), st.integers(1, 65535))), min_size=2, max_size=5)


@given(hosts=hosts, database=st.from_regex(r"[a-z_][a-z0-9_]{0,30}", fullmatch=True))
def test_every_host_and_port_reaches_the_driver_in_order(hosts, database):
    listed = [h if p is None else f"{h}:{p}" for h, p in hosts]
    url = make_url(database_uri(f"postgresql://idp:secret@{','.join(listed)}/{database}"
                                "?target_session_attrs=read-write"))
    host_param = url.query["host"]
    assert list(host_param if isinstance(host_param, tuple) else (host_param,)) == listed
    assert url.query["target_session_attrs"] == "read-write"
    assert (url.username, url.password, url.database) == ("idp", "secret", database)


@pytest.mark.parametrize("url, says", [
    ("postgresql://idp@db1:54x2,db2/idp", "port '54x2' of host 'db1:54x2'"),
    ("postgresql://idp@db1,,db2/idp", "host '' of the host list"),
    ("postgresql://idp@db1:99999,db2/idp", "port '99999'"),
    ("postgresql://idp:pw@db1:abc/idp", "IDP_DATABASE_URL"),
])
def test_a_malformed_database_url_stops_start_up_naming_it(tmp_path, url, says):
    with pytest.raises(ConfigError) as info:
        helpers.make_settings(tmp_path, database_url=url)
    problems = " ".join(info.value.problems)
    assert "IDP_DATABASE_URL" in problems and says in problems
    assert "pw" not in problems  # the password is masked


def test_pool_settings_reach_the_engine_of_every_process(tmp_path):
    app = create_app(helpers.make_settings(tmp_path, database_url="postgresql://idp@127.0.0.1:1/idp",
                                           db_pool_size=7, db_max_overflow=3, db_pool_timeout=4))
    with app.app_context():
        pool = db.engine.pool
        assert (pool.size(), pool._max_overflow, pool._timeout, pool._pre_ping) == (7, 3, 4, True)
        db.engine.dispose()


def _multi_host(server_url: str, first: str, attrs: str) -> str:
    """The test server's URL as a libpq host list with `first` (a host:port) tried before it."""
    parts = urlsplit(server_url)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    return f"postgresql://{userinfo}@{first},{hostport}{parts.path}?target_session_attrs={attrs}&connect_timeout=3"


@pytest.mark.postgres
def test_libpq_skips_a_host_that_is_down_and_serves_from_the_primary(tmp_path):
    server = postgres_url_or_skip()
    app = create_app(helpers.make_settings(tmp_path, session_backend="memory",
                                           database_url=_multi_host(server, "127.0.0.1:1", "read-write")))
    try:
        response = app.test_client().get("/readyz")
        assert response.status_code == 200, response.get_json()
        with app.app_context():
            port, standby = db.session.execute(db.text("SELECT inet_server_port(), pg_is_in_recovery()")).one()
        assert (port, standby) == (urlsplit(server).port or 5432, False)
    finally:
        with app.app_context():
            db.engine.dispose()


@pytest.mark.postgres
def test_a_host_list_with_no_acceptable_server_is_not_ready(tmp_path):
    """target_session_attrs reaches libpq: asking for a standby where there is only a primary finds
    no server, and the node says it is not ready (503) rather than failing requests."""
    server = postgres_url_or_skip()
    app = create_app(helpers.make_settings(tmp_path, session_backend="memory",
                                           database_url=_multi_host(server, "127.0.0.1:1", "standby")))
    try:
        response = app.test_client().get("/readyz")
        assert response.status_code == 503
        assert response.get_json()["checks"]["database"].startswith("unreachable")
        assert app.test_client().get("/healthz").status_code == 200  # alive: not restarted for it
    finally:
        with app.app_context():
            db.engine.dispose()


@pytest.mark.parametrize("variable, value", [("IDP_DB_POOL_SIZE", "0"), ("IDP_DB_POOL_SIZE", "ten"),
                                             ("IDP_DB_MAX_OVERFLOW", "-1"), ("IDP_DB_POOL_TIMEOUT", "0")])
def test_pool_settings_out_of_range_stop_start_up(variable, value):
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"IDP_SECRET_KEY": "s" * 40, variable: value})
    assert any(problem.startswith(f"{variable}={value!r} is invalid") for problem in info.value.problems)


def test_pool_defaults_cover_a_workers_threads():
    """Per process: granian's request threads (the Dockerfile's --blocking-threads), the job runner and
    the CRL refresher each hold at most one connection at a time; they fit the pool without overflow."""
    settings = Settings.from_env({"IDP_SECRET_KEY": "s" * 40})
    assert settings.db_pool_size >= int(dockerfile.option("--blocking-threads")) + 2


def test_idp_config_masks_the_password_of_a_host_list():
    from idp.config import masked
    url = "postgresql://idp:s3cret@db1:5432,db2:5432/idp?target_session_attrs=read-write"
    assert masked("IDP_DATABASE_URL", url) == \
        "postgresql://idp:********@db1:5432,db2:5432/idp?target_session_attrs=read-write"
