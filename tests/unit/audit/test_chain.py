"""The hash-chained audit log: tampering and deletion are named by `idp audit verify`; export as JSON lines."""
from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from helpers import CITIZEN_ID, make_settings, register


def _append(ctx, count, *, seal=True):
    core = ctx.extensions["idp"]
    for i in range(count):
        core.audit("test.event", n=i, id_number=CITIZEN_ID)
    if seal:
        _seal(ctx)


def _seal(ctx) -> int:
    from idp.audit.sealing import seal_all
    from idp.extensions import db
    return seal_all(db.engine, ctx.extensions["idp"].keys.signing_key("ES256"))


def _run_cli(settings, *args):
    env = {"IDP_SECRET_KEY": settings.secret_key, "IDP_DATABASE_URL": settings.database_url,
           "IDP_ISSUER": settings.issuer, "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "idp.cli", *args], env=env, capture_output=True, text=True,
                          timeout=60)


def test_intact_chain_verifies(ctx):
    from idp.audit.log import verify
    _append(ctx, 5)
    assert verify() == (True, [])


def test_edited_record_is_named(ctx, tmp_path):
    from idp.audit.log import verify
    from idp.extensions import db
    _append(ctx, 5)
    db.session.execute(text("UPDATE audit_events SET data = :d WHERE seq = 3"), {"d": json.dumps({"n": 99})})
    db.session.commit()
    ok, problems = verify()
    assert not ok and problems == ["record seq 3 was modified"]
    done = _run_cli(ctx.extensions["idp"].settings, "audit", "verify")
    assert done.returncode == 1 and "record seq 3 was modified" in done.stdout


def test_deleted_record_is_named_as_a_gap(ctx):
    from idp.audit.log import verify
    from idp.extensions import db
    _append(ctx, 5)
    db.session.execute(text("DELETE FROM audit_events WHERE seq = 2"))
    db.session.commit()
    ok, problems = verify()
    assert not ok
    assert "record seq 2 is missing (next is 3)" in problems
    assert "record seq 3 does not chain to the previous record" in problems


def test_rehashed_forgery_still_breaks_the_chain(ctx):
    """Editing a record and recomputing its own hash leaves the next record's link broken."""
    from idp.audit.log import _digest, verify
    from idp.audit.models import AuditEvent
    from idp.extensions import db
    _append(ctx, 4)
    row = db.session.scalar(db.select(AuditEvent).where(AuditEvent.seq == 2))
    forged = {"n": 1, "forged": True}
    db.session.execute(text("UPDATE audit_events SET data = :d, hash = :h WHERE seq = 2"),
                       {"d": json.dumps(forged), "h": _digest(2, row.at, row.event, forged, row.prev_hash)})
    db.session.commit()
    ok, problems = verify()
    assert not ok and problems == ["record seq 3 does not chain to the previous record"]


def test_id_numbers_are_masked(ctx):
    from idp.audit.models import AuditEvent
    from idp.extensions import db
    _append(ctx, 1)
    row = db.session.scalar(db.select(AuditEvent))
    assert row.data["id_number"] != CITIZEN_ID and CITIZEN_ID[:3] in row.data["id_number"]
    assert "*" in row.data["id_number"]


def test_export_json_lines_between_times(ctx):
    from idp.audit.export import export_lines, parse_time
    from idp.extensions import db
    _append(ctx, 3)
    old = (datetime.now(timezone.utc) - timedelta(days=3)).timestamp()
    db.session.execute(text("UPDATE audit_events SET at = :at WHERE seq = 1"), {"at": old})
    db.session.commit()
    out = io.StringIO()
    since = datetime.now(timezone.utc) - timedelta(days=1)
    assert export_lines(out, since) == 2
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["seq"] for r in records] == [2, 3]
    assert set(records[0]) == {"seq", "at", "ts", "event", "data", "prev_hash", "hash"}
    assert records[1]["prev_hash"] == records[0]["hash"]
    out = io.StringIO()
    assert export_lines(out, parse_time("2000-01-01"), since) == 1
    assert parse_time("2026-05-01T08:00:00+08:00") == datetime(2026, 5, 1, 0, 0, tzinfo=timezone.utc)
    assert parse_time("2026-05-01Z") if sys.version_info >= (3, 11) else True
    with pytest.raises(Exception, match="ISO 8601"):
        parse_time("yesterday")


def test_export_cli(tmp_path):
    from idp import create_app
    from idp.migrate import upgrade
    settings = make_settings(tmp_path)
    app = create_app(settings)
    upgrade(app)
    with app.app_context():
        app.extensions["idp"].keys.ensure_active_keys()
        _append(app, 3)
    target = tmp_path / "audit.jsonl"
    done = _run_cli(settings, "audit", "export", "--since", "2000-01-01", "--output", str(target))
    assert done.returncode == 0, done.stderr
    lines = target.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [1, 2, 3] and "wrote 3" in done.stderr
    assert CITIZEN_ID not in target.read_text(encoding="utf-8")
    stdout = _run_cli(settings, "audit", "export", "--since", datetime.now(timezone.utc).date().isoformat())
    assert stdout.returncode == 0 and len(stdout.stdout.splitlines()) == 3
    bad = _run_cli(settings, "audit", "export", "--since", "last week")
    assert bad.returncode == 1 and "ISO 8601" in bad.stderr
    backwards = _run_cli(settings, "audit", "export", "--since", "2026-01-02", "--until", "2026-01-01")
    assert backwards.returncode == 1 and "later" in backwards.stderr
    missing = _run_cli(settings, "audit", "export")
    assert missing.returncode == 2


def test_token_issuance_revocation_and_consent_are_recorded(app, browser, citizen):
    from idp.audit.models import AuditEvent
    from idp.extensions import db
    rp = register(app, browser, scopes=("openid", "profile"))
    tokens, _ = rp.login_tokens()
    browser.client.post("/revoke", data={"token": tokens["refresh_token"]}, headers=rp.basic)
    with app.app_context():
        events = [(e.event, e.data) for e in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id))]
    names = [e for e, _ in events]
    assert "token.issued" in names and "token.revoked" in names
    issued = next(d for e, d in events if e == "token.issued")
    assert issued["grant_type"] == "authorization_code" and issued["client_id"] == rp.client_id
    assert CITIZEN_ID not in repr(events)
