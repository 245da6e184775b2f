"""A database connection lost in the middle of a token request: the client gets 503 with Retry-After,
nothing of the request is stored, and its retry with the same code or refresh token succeeds.

The connection dies right after the code or refresh token was claimed and before the new tokens are
committed: on PostgreSQL the request's own server process is terminated (pg_terminate_backend) after
the issuance's one statement (the claim, the token row and the audit record), so the commit meets a
dead connection; on SQLite the next statement after the claim raises the OperationalError SQLite
gives for an I/O error.
"""
from __future__ import annotations

import contextlib
import sqlite3

import psycopg
import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

import helpers
from backends import libpq_url, postgres_url_or_skip
from idp import create_app
from idp.audit.models import AuditEvent
from idp.extensions import db
from idp.migrate import upgrade
from idp.storage.sql_tokens import SqlTokenStore


def _sqlite_io_error() -> OperationalError:
    error = sqlite3.OperationalError("disk I/O error")
    error.sqlite_errorcode, error.sqlite_errorname = 10, "SQLITE_IOERR"
    return OperationalError("INSERT INTO tokens ...", {}, error)


def _kill_sqlite(conn):
    """What the statements after the claim meet when the database file cannot be written."""
    raise _sqlite_io_error()


def _kill_postgres(conn):
    """Terminate the server process of the request's connection, as a restart or failover would."""
    pid = conn.connection.dbapi_connection.info.backend_pid
    with psycopg.connect(libpq_url(postgres_url_or_skip()), autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0] is True


def _app_on(tmp_path, database_url=None):
    overrides = {"database_url": database_url} if database_url else {}
    app = create_app(helpers.make_settings(tmp_path, **overrides))
    app.config["TESTING"] = True
    upgrade(app)
    with app.app_context():
        app.extensions["idp"].keys.ensure_active_keys()
        from idp.identity.service import create_person
        create_person(id_number=helpers.CITIZEN_ID, name="张三", password=helpers.CITIZEN_PASSWORD)
    return app


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request, tmp_path):
    """(app, kill): the whole app on SQLite or PostgreSQL, and how to kill a connection there."""
    if request.param == "sqlite":
        app, kill = _app_on(tmp_path), _kill_sqlite
    else:
        app, kill = _app_on(tmp_path, request.getfixturevalue("pg_database_url")), _kill_postgres
    yield app, kill
    app.extensions["idp"].notifier.wait_idle(5)
    with app.app_context():
        db.engine.dispose()


def _die_after(monkeypatch, claim: str, kill):
    """The store claims the ``claim`` ("code" or "refresh_token"), then the connection dies (once). On
    PostgreSQL the claim is part of the issuance's one statement, which the connection outlives."""
    method = "_issue_in_one" if kill is _kill_postgres else f"_claim_{claim.removesuffix('_token')}"
    original = getattr(SqlTokenStore, method)
    calls = []

    def claim_then_die(self, conn, *args):
        claimed = original(self, conn, *args)
        assert claimed, "the claim itself should succeed"
        calls.append(args)
        monkeypatch.setattr(SqlTokenStore, method, original)
        kill(conn)
        return claimed

    monkeypatch.setattr(SqlTokenStore, method, claim_then_die)
    return calls


def _refresh(rp, refresh_token):
    return rp.browser.client.post("/token", headers=rp.basic,
                                  data={"grant_type": "refresh_token", "refresh_token": refresh_token})


def _introspect(rp, token):
    return rp.browser.client.post("/introspect", data={"token": token}, headers=rp.basic).get_json()


def _events(app, name):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count(AuditEvent.id)).where(AuditEvent.event == name))


def _assert_unavailable(response):
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.headers["Retry-After"].isdigit()
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_json()["error"] == "temporarily_unavailable"


def test_refresh_whose_connection_dies_after_the_claim_can_be_retried(database, monkeypatch):
    app, kill = database
    rp = helpers.register(app, helpers.Browser(app.test_client()))
    tokens, _ = rp.login_tokens()
    issued_before = _events(app, "token.issued")

    calls = _die_after(monkeypatch, "refresh_token", kill)
    _assert_unavailable(_refresh(rp, tokens["refresh_token"]))
    assert len(calls) == 1
    assert _events(app, "token.issued") == issued_before, "nothing of the failed request is stored"

    retry = _refresh(rp, tokens["refresh_token"])
    assert retry.status_code == 200, retry.get_json()
    rotated = retry.get_json()
    assert rotated["refresh_token"] != tokens["refresh_token"]
    assert _events(app, "token.refresh_replay") == 0
    assert _introspect(rp, rotated["access_token"])["active"] is True
    assert _introspect(rp, tokens["access_token"])["active"] is True, "the family is intact"
    assert _refresh(rp, rotated["refresh_token"]).status_code == 200
    # and the rotation did happen: the first refresh token is now spent
    replay = _refresh(rp, tokens["refresh_token"])
    assert replay.status_code == 400 and replay.get_json()["error"] == "invalid_grant"


def test_code_exchange_whose_connection_dies_after_the_claim_can_be_retried(database, monkeypatch):
    app, kill = database
    rp = helpers.register(app, helpers.Browser(app.test_client()))
    code, verifier, _ = rp.get_code()

    calls = _die_after(monkeypatch, "code", kill)
    _assert_unavailable(rp.exchange(code, verifier))
    assert len(calls) == 1
    assert _events(app, "token.issued") == 0

    retry = rp.exchange(code, verifier)
    assert retry.status_code == 200, retry.get_json()
    tokens = retry.get_json()
    assert tokens["access_token"] and tokens["refresh_token"] and tokens["id_token"]
    assert _events(app, "token.code_replay") == 0
    assert _refresh(rp, tokens["refresh_token"]).status_code == 200
    replay = rp.exchange(code, verifier)
    assert replay.status_code == 400 and replay.get_json()["error"] == "invalid_grant"


# --- the class: any request that meets an unreachable database -------------------------------------
@contextlib.contextmanager
def database_unreachable(app):
    """Every new database connection fails as SQLite fails on a file it cannot open (the pool is
    emptied first, so every request needs a new one)."""
    with app.app_context():
        engine = db.engine
    engine.dispose()

    def refuse(dialect, connection_record, cargs, cparams):
        error = sqlite3.OperationalError("unable to open database file")
        error.sqlite_errorcode, error.sqlite_errorname = 14, "SQLITE_CANTOPEN"
        raise error

    event.listen(engine, "do_connect", refuse)
    try:
        yield
    finally:
        event.remove(engine, "do_connect", refuse)


JSON_REQUESTS = [
    ("POST", "/token", {"grant_type": "client_credentials", "scope": "profile"}),
    ("POST", "/token", {"grant_type": "refresh_token", "refresh_token": "r" * 40}),
    ("POST", "/token", {"grant_type": "authorization_code", "code": "c" * 40, "redirect_uri": helpers.REDIRECT_A,
                        "code_verifier": "v" * 43}),
    ("POST", "/introspect", {"token": "t" * 40}),
    ("POST", "/revoke", {"token": "t" * 40}),
]
BROWSER_PAGES = ["/authorize?response_type=code&client_id=x&scope=openid", "/account", "/login?tx=abc"]


@pytest.mark.parametrize("method,path,form", JSON_REQUESTS, ids=[f"{m} {p} {f.get('grant_type', '')}".strip()
                                                                 for m, p, f in JSON_REQUESTS])
def test_protocol_endpoints_answer_503_json_when_the_database_is_unreachable(app, rp, method, path, form):
    with database_unreachable(app):
        response = rp.browser.client.open(path, method=method, data=form, headers=rp.basic)
    _assert_unavailable(response)
    assert response.get_json()["error_description"]
    # and once the database is back, the same endpoint works again
    assert rp.browser.client.post("/introspect", data={"token": "t" * 40},
                                  headers=rp.basic).get_json() == {"active": False}


@pytest.mark.parametrize("path", BROWSER_PAGES)
def test_browser_pages_say_the_service_is_unavailable_in_the_persons_language(app, rp, path):
    rp.login_tokens()  # signed in: the pages read the SSO session
    browser = rp.browser
    with database_unreachable(app):
        zh = browser.client.get(path)
        en = browser.client.get(path, headers={"Accept-Language": "en"})
    for response, title in ((zh, "服务暂时不可用"), (en, "The service is temporarily unavailable")):
        assert response.status_code == 503
        assert response.headers["Retry-After"].isdigit()
        assert response.mimetype == "text/html"
        assert title in response.get_data(as_text=True)


def test_an_unreachable_redis_answers_503(app, browser, monkeypatch):
    import redis

    from idp.sessions.sso import COOKIE_NAME

    def unreachable(*args, **kwargs):
        raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    store = app.extensions["idp"].store
    for name in ("get", "put", "consume"):
        monkeypatch.setattr(store, name, unreachable)
    browser.client.set_cookie(COOKIE_NAME, "x" * 40)
    response = browser.client.get("/account")
    assert response.status_code == 503 and response.headers["Retry-After"].isdigit()


def test_a_database_error_that_is_a_bug_is_still_a_500(app, rp, monkeypatch):
    """A missing table is not cured by retrying: the 503 is only for transient failures."""
    with app.app_context():
        db.session.execute(db.text("DROP TABLE tokens"))
        db.session.commit()
    response = rp.browser.client.post("/token", data={"grant_type": "refresh_token", "refresh_token": "r" * 40},
                                      headers=rp.basic)
    assert response.status_code == 500
    assert response.get_json()["error"] == "server_error" and "Retry-After" not in response.headers


def test_concurrent_refreshes_with_one_refresh_token_have_one_winner(database):
    """RFC 9700 4.14.2: of several requests presenting one refresh token at once, one rotates it; the
    others find it claimed by a committed rotation, a replay, and the family is revoked."""
    import threading

    app, _ = database
    rp = helpers.register(app, helpers.Browser(app.test_client()))
    tokens, _ = rp.login_tokens()
    threads, barrier, statuses = 6, threading.Barrier(6), []

    def attempt():
        client = app.test_client()
        barrier.wait(timeout=10)
        response = client.post("/token", headers=rp.basic,
                               data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
        statuses.append(response.status_code)

    workers = [threading.Thread(target=attempt) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert sorted(statuses) == [200] + [400] * (threads - 1)
    assert _events(app, "token.issued") == 2  # the code exchange and the one rotation
    assert _events(app, "token.refresh_replay") >= 1
    assert _introspect(rp, tokens["access_token"]) == {"active": False}
