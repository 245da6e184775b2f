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


@pytest.fixture
def chain(tmp_path, any_database):
    """An app on SQLite or PostgreSQL, inside its app context."""
    from helpers import app_on, dispose_app
    app = app_on(tmp_path, any_database)
    with app.app_context():
        yield app
    dispose_app(app)


def _sql(statement, **params):
    from idp.extensions import db
    db.session.execute(text(statement), params)
    db.session.commit()


def _problems():
    from idp.audit.log import verify
    ok, problems = verify()
    assert ok is (not problems)
    return problems


def test_intact_chain_verifies_and_unsealed_records_are_counted(chain):
    from idp.audit.verification import check
    _append(chain, 5, seal=False)
    report = check()
    assert report.ok and (report.sealed, report.unsealed, report.checkpoints) == (0, 5, 0)
    assert _seal(chain) == 5
    report = check()
    assert report.ok and (report.sealed, report.unsealed, report.head, report.checkpoints) == (5, 0, 5, 1)
    assert report.newest_checkpoint.seq == 5
    _append(chain, 2)
    assert check().as_dict()["newest_checkpoint"]["seq"] == 7 and _problems() == []


def test_edited_record_is_named(chain):
    _append(chain, 5)
    _sql("UPDATE audit_events SET data = :d WHERE seq = 3", d=json.dumps({"n": 99}))
    assert _problems() == ["record seq 3 was modified"]


def test_cli_names_the_edited_record(ctx):
    _append(ctx, 5)
    _sql("UPDATE audit_events SET data = :d WHERE seq = 3", d=json.dumps({"n": 99}))
    done = _run_cli(ctx.extensions["idp"].settings, "audit", "verify")
    assert done.returncode == 1 and "record seq 3 was modified" in done.stdout


def test_deleted_record_is_named_as_a_gap(chain):
    _append(chain, 5)
    _sql("DELETE FROM audit_events WHERE seq = 2")
    assert _problems() == ["record seq 2 is missing (next is 3)", "record seq 3 does not chain to the previous record"]


def test_reordered_records_are_named(chain):
    """Swapping two records' chain positions: each is named with the position it was sealed at."""
    _append(chain, 5)
    _sql("UPDATE audit_events SET seq = -2 WHERE seq = 2")
    _sql("UPDATE audit_events SET seq = 2 WHERE seq = 3")
    _sql("UPDATE audit_events SET seq = 3 WHERE seq = -2")
    assert _problems() == ["record seq 2 was sealed at seq 3: the records were reordered",
                           "record seq 3 was sealed at seq 2: the records were reordered"]


def test_deleting_the_newest_records_is_named(chain):
    _append(chain, 5)
    _sql("DELETE FROM audit_events WHERE seq >= 4")
    [problem] = _problems()
    assert problem.startswith("records seq 4 to 5 are missing: the chain reached seq 5 when it was signed at ")
    assert problem.endswith("(the newest records were deleted)")


def test_deleting_the_newest_record_and_its_checkpoint_is_named(chain):
    _append(chain, 3)
    _append(chain, 2)
    _sql("DELETE FROM audit_checkpoints WHERE seq = 5")
    assert _problems() == ["records seq 4 to 5: sealed, but no signed checkpoint covers them (a newer checkpoint "
                           "was deleted, or the sealer has not run since the upgrade)"]
    _sql("DELETE FROM audit_events WHERE seq >= 4")
    assert _problems() == []  # what nothing but an earlier export can show: see test_export_carries_checkpoints


def test_rehashed_forgery_still_breaks_the_chain(chain):
    """Editing a record and recomputing its own hash leaves the next record's link broken."""
    from idp.audit.log import digest
    _append(chain, 4)
    row = _row(2)
    forged = {"n": 1, "forged": True}
    _sql("UPDATE audit_events SET data = :d, hash = :h WHERE seq = 2",
         d=json.dumps(forged), h=digest(2, row.at, row.event, forged, row.prev_hash))
    assert _problems() == ["record seq 3 does not chain to the previous record"]


def test_a_rewritten_head_is_caught_by_the_signed_checkpoint(chain):
    """Rewriting the newest record with a recomputed hash leaves no broken link, but the signed head differs."""
    from idp.audit.log import digest
    _append(chain, 4)
    row = _row(4)
    forged = {"n": 3, "forged": True}
    _sql("UPDATE audit_events SET data = :d, hash = :h WHERE seq = 4",
         d=json.dumps(forged), h=digest(4, row.at, row.event, forged, row.prev_hash))
    [problem] = _problems()
    assert problem.startswith("record seq 4 is not the one signed as the chain head at ")
    assert problem.endswith(": the chain was rewritten")


def test_an_altered_or_forged_checkpoint_is_named(chain):
    from idp.audit.checkpoints import sign
    from joserfc.jwk import ECKey
    _append(chain, 3)
    _sql("UPDATE audit_checkpoints SET head = :h", h="f" * 64)
    assert "the checkpoint of chain position 3 was altered after it was signed" in _problems()
    stranger = ECKey.generate_key("P-256", parameters={"kid": "es256-stranger"}, private=True)
    _sql("UPDATE audit_checkpoints SET kid = 'es256-stranger', jws = :j", j=sign(stranger, 3, "f" * 64, 1.0))
    assert "the checkpoint of chain position 3 was signed by key es256-stranger, which this server never had" \
        in _problems()


def _row(seq):
    from idp.audit.models import AuditEvent
    from idp.extensions import db
    return db.session.execute(db.select(AuditEvent.at, AuditEvent.event, AuditEvent.prev_hash)
                              .where(AuditEvent.seq == seq)).one()


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
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    records = [line for line in lines if "seq" in line]
    assert [r["seq"] for r in records] == [2, 3]
    # then the checkpoint covering them and the key that signed it
    assert [set(line) for line in lines[2:]] == [{"checkpoint"}, {"key"}]
    assert lines[2]["checkpoint"]["seq"] == 3 and lines[2]["checkpoint"]["head"] == records[1]["hash"]
    assert lines[3]["key"]["kid"] == lines[2]["checkpoint"]["kid"] and "d" not in lines[3]["key"]
    assert set(records[0]) == {"seq", "at", "ts", "event", "data", "prev_hash", "hash"}
    assert records[1]["prev_hash"] == records[0]["hash"]
    out = io.StringIO()
    assert export_lines(out, parse_time("2000-01-01"), since) == 1
    assert parse_time("2026-05-01T08:00:00+08:00") == datetime(2026, 5, 1, 0, 0, tzinfo=timezone.utc)
    assert parse_time("2026-05-01Z") if sys.version_info >= (3, 11) else True
    with pytest.raises(Exception, match="ISO 8601"):
        parse_time("yesterday")


def test_export_lists_records_awaiting_sealing_last(ctx):
    from idp.audit.export import export_lines, parse_time
    _append(ctx, 2)
    _append(ctx, 2, seal=False)
    out = io.StringIO()
    assert export_lines(out, parse_time("2000-01-01")) == 4
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(line.get("seq"), line.get("data", {}).get("n")) for line in lines] == \
        [(1, 0), (2, 1), (None, 0), (None, 1), (None, None), (None, None)]
    assert lines[2]["hash"] is None and lines[4]["checkpoint"]["seq"] == 2


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
    assert [json.loads(line).get("seq") for line in lines] == [1, 2, 3, None, None] and "wrote 3" in done.stderr
    assert CITIZEN_ID not in target.read_text(encoding="utf-8")
    stdout = _run_cli(settings, "audit", "export", "--since", datetime.now(timezone.utc).date().isoformat())
    assert stdout.returncode == 0 and len(stdout.stdout.splitlines()) == 5
    bad = _run_cli(settings, "audit", "export", "--since", "last week")
    assert bad.returncode == 1 and "ISO 8601" in bad.stderr
    backwards = _run_cli(settings, "audit", "export", "--since", "2026-01-02", "--until", "2026-01-01")
    assert backwards.returncode == 1 and "later" in backwards.stderr
    missing = _run_cli(settings, "audit", "export")
    assert missing.returncode == 2


def test_an_export_shows_the_newest_records_deleted_with_their_checkpoints(tmp_path):
    """The database alone cannot show records deleted together with the checkpoints that signed them;
    an earlier export, kept elsewhere, does (`idp audit verify --against`)."""
    from idp import create_app
    from idp.migrate import upgrade
    from idp.extensions import db
    settings = make_settings(tmp_path)
    app = create_app(settings)
    upgrade(app)
    with app.app_context():
        app.extensions["idp"].keys.ensure_active_keys()
        _append(app, 3)
        _append(app, 2)
    kept = tmp_path / "kept.jsonl"
    assert _run_cli(settings, "audit", "export", "--since", "2000-01-01", "--output", str(kept)).returncode == 0
    intact = _run_cli(settings, "audit", "verify", "--against", str(kept))
    assert intact.returncode == 0 and intact.stdout.startswith("audit chain intact"), intact.stdout + intact.stderr
    with app.app_context():
        db.session.execute(text("DELETE FROM audit_events WHERE seq >= 4"))
        db.session.execute(text("DELETE FROM audit_checkpoints WHERE seq >= 4"))
        db.session.commit()
    assert _run_cli(settings, "audit", "verify").returncode == 0
    caught = _run_cli(settings, "audit", "verify", "--against", str(kept))
    assert caught.returncode == 1
    assert "records seq 4 to 5 are missing: the chain reached seq 5 when it was signed at" in caught.stdout
    (tmp_path / "junk.jsonl").write_text("not json\n", encoding="utf-8")
    junk = _run_cli(settings, "audit", "verify", "--against", str(tmp_path / "junk.jsonl"))
    assert junk.returncode == 1 and "line 1 of the export is not an audit export line" in junk.stderr


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
