"""The whole application on a fresh PostgreSQL database: Alembic migrations match the models, and a
real login and code exchange work with SSO sessions in SQL and in Redis."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from backends import redis_url_or_skip
from idp import create_app
from idp.extensions import db
from idp.migrate import current, upgrade

import helpers  # noqa: E402


def migrated_app(tmp_path, **overrides):
    app = create_app(helpers.make_settings(tmp_path, **overrides))
    app.config["TESTING"] = True
    upgrade(app)
    return app


def dispose(app):
    app.extensions["idp"].notifier.wait_idle(5)
    with app.app_context():
        db.engine.dispose()


def schema_differences(app):
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(context, db.metadata)


def head_revision():
    from alembic.script import ScriptDirectory
    from idp.migrate import alembic_config
    return ScriptDirectory.from_config(alembic_config(None)).get_current_head()


def test_migrated_sqlite_schema_matches_the_models(tmp_path):
    app = migrated_app(tmp_path)
    try:
        assert current(app) == head_revision()
        assert schema_differences(app) == []
    finally:
        dispose(app)


@pytest.mark.postgres
def test_migrated_postgres_schema_matches_the_models(tmp_path, pg_database_url):
    app = migrated_app(tmp_path, database_url=pg_database_url)
    try:
        with app.app_context():
            assert db.engine.dialect.name == "postgresql"
        assert current(app) == head_revision()
        assert schema_differences(app) == []
        upgrade(app)  # a second upgrade is a no-op
        assert current(app) == head_revision()
    finally:
        dispose(app)


def run_code_flow(app):
    from idp.identity.service import create_person

    with app.app_context():
        app.extensions["idp"].keys.ensure_active_keys()
        person = create_person(id_number=helpers.CITIZEN_ID, name="张三", password=helpers.CITIZEN_PASSWORD,
                               phone="13800138000", email="zhangsan@example.gov.cn")
        public_id = person.public_id
    browser = helpers.Browser(app.test_client())
    rp = helpers.register(app, browser, scopes=("openid", "profile", "email"))
    tokens, params = rp.login_tokens()
    claims = helpers.decode_jwt(app, tokens["id_token"]).claims
    assert claims["sub"] == public_id
    assert claims["aud"] == [rp.client_id] and claims["nonce"] == params["nonce"]
    assert claims["iss"] == helpers.ISSUER
    userinfo = browser.client.get("/userinfo", headers={"Authorization": "Bearer " + tokens["access_token"]})
    assert userinfo.status_code == 200, userinfo.get_data(as_text=True)
    assert userinfo.get_json()["name"] == "张三"
    assert userinfo.get_json()["email"] == "zhangsan@example.gov.cn"
    # single sign-on: a second authorization in the same browser needs no login
    code, verifier, _ = rp.get_code()
    second = rp.exchange(code, verifier)
    assert second.status_code == 200, second.get_json()
    # the code is single-use
    replay = rp.exchange(code, verifier)
    assert replay.status_code == 400 and replay.get_json()["error"] == "invalid_grant"
    return claims


@pytest.mark.postgres
def test_code_flow_on_postgres_with_sql_sessions(tmp_path, pg_database_url):
    app = migrated_app(tmp_path, database_url=pg_database_url, session_backend="sql")
    try:
        run_code_flow(app)
        from idp.storage.sql import SqlStore
        store = app.extensions["idp"].store
        assert isinstance(store, SqlStore)
        with app.app_context(), db.engine.connect() as conn:
            assert conn.dialect.name == "postgresql"
            sessions = conn.exec_driver_sql("SELECT count(*) FROM ephemeral_records").scalar()
        assert sessions >= 1, "the SSO session should live in PostgreSQL"
    finally:
        dispose(app)


@pytest.mark.postgres
@pytest.mark.redis
def test_code_flow_on_postgres_with_redis_sessions(tmp_path, pg_database_url):
    import redis

    redis_url = redis_url_or_skip()
    client = redis.Redis.from_url(redis_url)
    before = set(client.scan_iter(match="idp:*", count=1000))
    app = migrated_app(tmp_path, database_url=pg_database_url, session_backend="redis", redis_url=redis_url)
    try:
        from idp.storage.redis import RedisStore
        assert isinstance(app.extensions["idp"].store, RedisStore)
        run_code_flow(app)
        created = set(client.scan_iter(match="idp:*", count=1000)) - before
        assert created, "the SSO session should live in Redis"
        with app.app_context(), db.engine.connect() as conn:
            in_sql = conn.exec_driver_sql("SELECT count(*) FROM ephemeral_records").scalar()
        assert in_sql == 0, "nothing ephemeral should reach SQL with the Redis backend"
    finally:
        dispose(app)
        leftovers = set(client.scan_iter(match="idp:*", count=1000)) - before
        if leftovers:
            client.delete(*leftovers)
        client.close()


@pytest.mark.postgres
def test_concurrent_token_requests_on_postgres_keep_one_audit_chain(tmp_path, pg_database_url):
    """Tokens and their audit records are written in one transaction by several threads at once (each
    with its own connection): every token has its record, and the chain has no fork or gap."""
    import threading

    from idp.audit.log import verify
    from idp.audit.models import AuditEvent
    from idp.protocols.oidc.models import Token

    app = migrated_app(tmp_path, database_url=pg_database_url)
    try:
        with app.app_context():
            app.extensions["idp"].keys.ensure_active_keys()
        browser = helpers.Browser(app.test_client())
        batch = helpers.register(app, browser, name="Batch", scopes=("profile",),
                                 grant_types=["client_credentials"])
        threads, per_thread, failures = 6, 8, []

        def issue():
            client = app.test_client()
            for _ in range(per_thread):
                response = client.post("/token", headers=batch.basic,
                                       data={"grant_type": "client_credentials", "scope": "profile"})
                if response.status_code != 200:
                    failures.append(response.get_data(as_text=True))

        workers = [threading.Thread(target=issue) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        assert failures == []
        with app.app_context():
            tokens = db.session.scalar(db.select(db.func.count(Token.id)))
            issued = db.session.scalar(db.select(db.func.count(AuditEvent.id))
                                       .where(AuditEvent.event == "token.issued"))
            assert tokens == issued == threads * per_thread
            assert verify() == (True, [])
    finally:
        dispose(app)


@pytest.mark.postgres
def test_workers_starting_together_on_postgres_create_one_first_key_per_algorithm(tmp_path, pg_database_url):
    settings = helpers.make_settings(tmp_path, database_url=pg_database_url)
    dispose(migrated_app(tmp_path, database_url=pg_database_url))
    apps, errors, kids = helpers.start_workers_at_once(settings, count=3)
    try:
        assert errors == []
        with apps[0].app_context():
            states = [(k.alg, k.status) for k in apps[0].extensions["idp"].keys.list_keys()]
        assert sorted(states) == [("ES256", "active"), ("RS256", "active")]
        assert len(set(kids)) == 1
    finally:
        for app in apps:
            dispose(app)
