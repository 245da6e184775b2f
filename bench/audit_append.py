"""Token transactions per second with N concurrent writers on PostgreSQL, with the audit record
appended the way the chain used to need it (an advisory lock held until commit, the chain tail read,
the record hashed onto it) and the way it is appended now (one INSERT; the sealer chains it later).

    .venv/bin/python bench/audit_append.py [--postgres URL] [--writers 1,2,4,8] [--seconds 5]

Each writer is a process with its own connection pool that stores client_credentials issuances through
``SqlTokenStore.issue`` (token row + audit record in one transaction, committed) as fast as it can.
In the "sealed" runs the sealer runs alongside in this process, as the one job runner would, and the
chain is verified at the end. A scratch database is created on the server for the run and dropped.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

SECRET_KEY = "bench-secret-" + "x" * 32


def _app(url: str):
    from idp import create_app
    from idp.config import Settings
    return create_app(Settings.from_env({}, issuer="http://localhost", secret_key=SECRET_KEY, database_url=url,
                                        session_backend="sql", login_slowdown=False))


def locked_append(conn, event, data, statements=None):
    """The append as it was before sealing: every writer waits for one advisory lock until it commits."""
    from sqlalchemy import text

    from idp.audit import log
    from idp.audit.models import AuditEvent
    table = AuditEvent.__table__
    payload = log._sanitize(data)
    conn.execute(text("SELECT pg_advisory_xact_lock(7594318435537152372)"))
    last = conn.execute(table.select().with_only_columns(table.c.seq, table.c.hash)
                        .where(table.c.seq.is_not(None)).order_by(table.c.seq.desc()).limit(1)).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, log.GENESIS)
    at = time.time()
    conn.execute(table.insert().values(seq=seq, at=at, event=event, data=payload, prev_hash=prev,
                                       hash=log.digest(seq, at, event, payload, prev)))
    return payload


def writer(url: str, mode: str, seconds: float, ready, start, counts) -> None:
    from idp.audit import log
    from idp.extensions import db
    if mode == "locked":
        log.append = locked_append
    app = _app(url)
    with app.app_context():
        store = app.extensions["idp"].tokens
        done = 0
        ready.put(os.getpid())
        start.wait()
        deadline = time.time() + seconds
        while time.time() < deadline:
            now = time.time()
            store.issue({"access_token": secrets.token_urlsafe(24), "refresh_token": None, "client_id": "bench",
                         "person_id": None, "scope": "profile", "family_id": secrets.token_hex(8), "code_id": None,
                         "sid": None, "auth_time": None, "acr": None, "amr": [], "entity_id": None,
                         "issued_at": now, "access_expires_at": now + 900, "refresh_expires_at": None},
                        audit={"client_id": "bench", "grant_type": "client_credentials"})
            done += 1
        db.session.remove()
    counts.put(done)


def run(url: str, mode: str, writers: int, seconds: float) -> tuple[float, int]:
    from idp.audit.sealing import seal_pending
    from idp.extensions import db
    ctx = multiprocessing.get_context("spawn")
    counts, ready, start = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=writer, args=(url, mode, seconds, ready, start, counts)) for _ in range(writers)]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get(timeout=120)  # every writer has imported and built its app
    start.set()
    sealed = 0
    app = _app(url)
    with app.app_context():
        key = app.extensions["idp"].keys.signing_key("ES256")
        while any(proc.is_alive() for proc in procs):
            if mode == "sealed":
                sealed += seal_pending(db.engine, key).records
            time.sleep(0.2)
        db.engine.dispose()
    for proc in procs:
        proc.join()
    total = sum(counts.get() for _ in procs)
    return total / seconds, sealed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--writers", default="1,2,4,8")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    from server_throughput import scratch_postgres

    from idp.audit.sealing import seal_all
    from idp.audit.verification import check
    from idp.extensions import db
    from idp.migrate import upgrade

    print(f"{os.cpu_count()} CPUs; {args.seconds:g} s per run; PostgreSQL at {args.postgres.rsplit('@', 1)[-1]}")
    print(f"{'writers':>7}  {'locked (tx/s)':>13}  {'sealed (tx/s)':>13}  ratio")
    with scratch_postgres(args.postgres) as url:
        url = url.replace("postgresql://", "postgresql+psycopg://", 1) if "+psycopg" not in url else url
        app = _app(url)
        upgrade(app)
        with app.app_context():
            app.extensions["idp"].keys.ensure_active_keys()
            db.engine.dispose()
        for writers in (int(n) for n in args.writers.split(",")):
            locked, _ = run(url, "locked", writers, args.seconds)
            sealed, _ = run(url, "sealed", writers, args.seconds)
            print(f"{writers:>7}  {locked:>13.0f}  {sealed:>13.0f}  {sealed / locked:5.2f}", flush=True)
        with app.app_context():
            seal_all(db.engine, app.extensions["idp"].keys.signing_key("ES256"))
            report = check()
            print(f"chain after the runs: {'intact' if report.ok else report.problems[:3]}, "
                  f"{report.sealed} records, {report.checkpoints} checkpoints")
            db.engine.dispose()


if __name__ == "__main__":
    main()
