"""Sealing: records appended by many writers at once (no lock) become one chain; chains stored before
the upgrade keep verifying; a sealer racing the writers loses nothing."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import pytest
from sqlalchemy import insert

from helpers import app_on, create_app, dispose_app, make_settings, server_environ, upgrade

WRITER = textwrap.dedent("""
    import sys
    from idp import create_app
    from idp.audit.log import announce, append, record
    from idp.extensions import db
    from idp.storage import writes

    writer, count = sys.argv[1], int(sys.argv[2])
    app = create_app()
    with app.app_context():
        for n in range(count):
            if n % 2:
                record("test.concurrent", writer=writer, n=n)
            else:  # inside a transaction with other work, as the token store writes it
                with db.engine.connect() as conn, writes.serialized(conn), conn.begin():
                    payload = append(conn, "test.concurrent", {"writer": writer, "n": n})
                announce("test.concurrent", payload)
""")


def _seal(app) -> int:
    from idp.audit.sealing import seal_all
    from idp.extensions import db
    return seal_all(db.engine, app.extensions["idp"].keys.signing_key("ES256"), batch=17)


@pytest.mark.postgres
def test_records_written_by_three_processes_at_once_verify_as_one_chain(tmp_path):
    from backends import fresh_postgres_database
    from idp.audit.models import AuditEvent
    from idp.audit.verification import check
    from idp.extensions import db

    per_writer = 120
    with fresh_postgres_database() as url:
        app = app_on(tmp_path, url)
        try:
            env = server_environ(app.extensions["idp"].settings)
            writers = [subprocess.Popen([sys.executable, "-c", WRITER, f"w{i}", str(per_writer)], env=env,
                                        stderr=subprocess.PIPE, text=True) for i in range(3)]
            sealed_meanwhile = 0
            with app.app_context():
                while any(w.poll() is None for w in writers):  # the sealer runs while they write
                    sealed_meanwhile += _seal(app)
                errors = [w.communicate(timeout=120)[1] for w in writers]
                assert [w.returncode for w in writers] == [0, 0, 0], errors
                _seal(app)
                report = check()
                assert report.problems == []
                assert (report.sealed, report.unsealed, report.head) == (3 * per_writer, 0, 3 * per_writer)
                rows = db.session.execute(db.select(AuditEvent.seq, AuditEvent.data)
                                          .where(AuditEvent.event == "test.concurrent")).all()
                assert sorted(r.seq for r in rows) == list(range(1, 3 * per_writer + 1))
                assert {(r.data["writer"], r.data["n"]) for r in rows} == \
                    {(f"w{i}", n) for i in range(3) for n in range(per_writer)}
            assert sealed_meanwhile > 0  # the sealer really ran against live writers
        finally:
            dispose_app(app)


def test_two_sealers_at_once_make_one_chain(tmp_path, any_database):
    """A sealer whose lease lapsed mid-batch may meet the next one: they do not fork the chain."""
    from idp.audit.log import record
    from idp.audit.verification import check
    app = app_on(tmp_path, any_database)
    try:
        with app.app_context():
            for n in range(200):
                record("test.event", n=n)
            key = app.extensions["idp"].keys.signing_key("ES256")
        errors = []

        def seal():
            from idp.audit.sealing import seal_all
            from idp.extensions import db
            try:
                with app.app_context():
                    seal_all(db.engine, key, batch=7)
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=seal) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        with app.app_context():
            report = check()
            assert report.problems == [] and (report.sealed, report.unsealed) == (200, 0)
    finally:
        dispose_app(app)


def test_a_chain_stored_before_the_upgrade_keeps_verifying(tmp_path, any_database):
    """Records chained by the earlier schema (at append time) count as sealed; the first sealing pass
    signs their head, and new records continue the chain."""
    from idp.audit.log import GENESIS, digest, record
    from idp.audit.models import AuditEvent
    from idp.audit.verification import check
    from idp.extensions import db

    settings = make_settings(tmp_path, **({} if any_database == "sqlite" else {"database_url": any_database}))
    app = create_app(settings)
    try:
        upgrade(app, "0005_canonical_login_identifiers")
        prev = GENESIS
        old_rows = []
        for seq in range(1, 5):
            at, data = 1_700_000_000.0 + seq, {"n": seq}
            old_rows.append({"id": seq, "seq": seq, "at": at, "event": "old.event", "data": data, "prev_hash": prev,
                             "hash": digest(seq, at, "old.event", data, prev)})
            prev = old_rows[-1]["hash"]
        with app.app_context():
            with db.engine.begin() as conn:
                conn.execute(insert(AuditEvent.__table__), old_rows)
                if conn.dialect.name == "postgresql":  # rows inserted with explicit ids: move the sequence on
                    conn.exec_driver_sql("SELECT setval('audit_events_id_seq', 4)")
        upgrade(app)
        with app.app_context():
            app.extensions["idp"].keys.ensure_active_keys()
            report = check()
            assert report.sealed == 4 and report.problems == [
                "records seq 1 to 4: sealed, but no signed checkpoint covers them (a newer checkpoint was deleted, "
                "or the sealer has not run since the upgrade)"]
            assert _seal(app) == 0
            assert check().ok and check().checkpoints == 1
            record("new.event", n=5)
            assert _seal(app) == 1
            report = check()
            assert report.ok and (report.sealed, report.head, report.checkpoints) == (5, 5, 2)
            newest = db.session.scalar(db.select(AuditEvent).where(AuditEvent.seq == 5))
            assert newest.event == "new.event" and newest.prev_hash == prev
    finally:
        dispose_app(app)
