"""The `idp` operator command, run through its real entry point against a temporary SQLite database."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import idp.cli
from helpers import cli_runner
from idp import create_app
from idp.config import Settings

ROOT = Path(__file__).resolve().parents[2]
ID_A = "11010519491231002X"
ID_B = "44030419900307123X"
USCC = "91350100M000100Y43"
SECRET = "cli-test-secret-" + "y" * 32


@pytest.fixture(autouse=True)
def cli_env(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith("IDP_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("IDP_SECRET_KEY", SECRET)
    monkeypatch.setenv("IDP_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    monkeypatch.setenv("IDP_ISSUER", "http://localhost")
    # a rotated key signs at once (no pre-publication period) where the server supports one
    monkeypatch.setenv("IDP_KEY_PREPUBLISH_SECONDS", "0")
    monkeypatch.setattr(idp.cli.context, "_app", None)


@pytest.fixture
def run(capsys, monkeypatch):
    return cli_runner(capsys, monkeypatch)


@pytest.fixture
def upgraded(run):
    result = run("db", "upgrade")
    assert result.code == 0, result.err
    return result


def assert_one_line_error(result, *fragments):
    assert result.code != 0
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in result.err + result.out
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def fresh_app():
    return create_app(Settings.from_env())


def test_db_upgrade_reports_the_head_revision(run):
    from alembic.script import ScriptDirectory
    from idp.migrate import alembic_config
    head = ScriptDirectory.from_config(alembic_config(None)).get_current_head()
    result = run("db", "upgrade", "--json")
    assert result.code == 0, result.err
    assert result.json() == {"revision": head}
    again = run("db", "upgrade")
    assert again.code == 0 and again.out.strip() == f"database at revision {head}"


def test_users_add_and_duplicate(upgraded, run):
    result = run("users", "add", "--id-number", ID_A.lower(), "--name", "张三", "--password-stdin",
                 "--phone", "+86 138 0013 8000", "--email", "ZhangSan@example.gov.cn", "--json",
                 stdin="correct horse battery\n")
    assert result.code == 0, result.err
    data = result.json()
    assert data["name"] == "张三" and data["sub"]
    with fresh_app().app_context():
        from idp.identity.service import find_person_by_username
        person = find_person_by_username("13800138000")
        assert person is not None and person.public_id == data["sub"] and person.id_number == ID_A
        assert person.is_admin is False
    duplicate = run("users", "add", "--id-number", ID_A, "--name", "李四", "--password-stdin",
                    stdin="another password\n")
    assert_one_line_error(duplicate, "already exists")
    assert duplicate.code == 1


def _person(id_number):
    with fresh_app().app_context():
        from idp.identity.service import find_person_by_username
        return find_person_by_username(id_number)


def _password_accepted(id_number, password):
    from idp.identity.passwords import verify_password
    return verify_password(password, _person(id_number).password_hash)[0]


def invoke_with_terminal(argv, typed):
    """The command as an operator runs it at a terminal: ``typed`` is what they type at its prompts."""
    from click.testing import CliRunner
    idp.cli.context._app = None
    try:
        return CliRunner().invoke(idp.cli.cli, argv, input=typed)
    finally:
        idp.cli.context._app = None


def test_users_add_asks_for_the_password_twice_without_echo(upgraded):
    result = invoke_with_terminal(["users", "add", "--id-number", ID_A, "--name", "张三", "--json"],
                                  "correct horse battery\ncorrect horse battery\n")
    assert result.exit_code == 0, result.output
    assert "Password: " in result.stderr and "Repeat for confirmation: " in result.stderr
    assert "correct horse battery" not in result.output  # hidden input is not echoed
    assert json.loads(result.stdout)["name"] == "张三"  # the prompts went to stderr, stdout is the JSON
    assert _password_accepted(ID_A, "correct horse battery")


def test_users_add_asks_again_after_a_mismatch_or_an_unacceptable_password(upgraded):
    typed = ("correct horse battery\ncorrect horse batterY\n"  # the two do not match
             "\n"                                                # nothing typed
             "short\n"                                           # under the minimum length
             "the real password\nthe real password\n")
    result = invoke_with_terminal(["users", "add", "--id-number", ID_A, "--name", "张三"], typed)
    assert result.exit_code == 0, result.output
    assert "Error: The two entered values do not match." in result.stderr
    assert "Error: the password is empty" in result.stderr
    assert "Error: password must be at least 8 characters" in result.stderr
    assert _password_accepted(ID_A, "the real password")
    assert not _password_accepted(ID_A, "correct horse battery")


def test_users_add_without_a_confirmed_password_adds_nobody(upgraded):
    result = invoke_with_terminal(["users", "add", "--id-number", ID_A, "--name", "张三"],
                                  "correct horse battery\nsomething else\n")  # then the input ends
    assert result.exit_code != 0 and "Aborted" in result.output
    assert _person(ID_A) is None


def test_users_add_reads_one_line_of_standard_input(upgraded, run):
    # only the line ending is removed: spaces belong to the password
    added = run("users", "add", "--id-number", ID_A, "--name", "张三", "--password-stdin",
                stdin=" spaced password \r\nnext line\n")
    assert added.code == 0, added.err
    assert "Password" not in added.out + added.err  # no prompt
    assert _password_accepted(ID_A, " spaced password ")


def test_users_add_admin_flag(upgraded, run):
    assert run("users", "add", "--id-number", ID_A, "--name", "管理员", "--password-stdin",
               "--admin", stdin="admin password\n").code == 0
    with fresh_app().app_context():
        from idp.identity.service import find_person_by_username
        assert find_person_by_username(ID_A).is_admin is True


def test_keys_rewrap_takes_the_new_master_key_from_the_environment_never_an_argument(upgraded, run, monkeypatch):
    import base64
    assert run("keys", "list").code == 0  # creates the signing keys
    new_key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    refused = run("keys", "rewrap", "--new-master-key", new_key)
    assert_one_line_error(refused, "--new-master-key")
    assert refused.code == 2
    monkeypatch.setenv("IDP_NEW_MASTER_KEY", new_key)
    rewrapped = run("keys", "rewrap", "--json")
    assert rewrapped.code == 0, rewrapped.err
    assert rewrapped.json()["rewrapped"] >= 1


def test_entities_add_and_link(upgraded, run):
    assert run("users", "add", "--id-number", ID_A, "--name", "张三", "--password-stdin",
               stdin="correct horse battery\n").code == 0
    added = run("entities", "add", "--uscc", USCC.lower(), "--name", "示例科技有限公司", "--json")
    assert added.code == 0, added.err
    assert added.json() == {"uscc": USCC, "name": "示例科技有限公司"}
    linked = run("entities", "link", "--uscc", USCC, "--id-number", ID_A, "--role", "legal_representative",
                 "--json")
    assert linked.code == 0, linked.err
    assert linked.json()["role"] == "legal_representative" and linked.json()["uscc"] == USCC
    text = run("entities", "link", "--uscc", USCC, "--id-number", ID_A, "--role", "agent")
    assert text.code == 0 and text.out.strip() == "张三 is now agent of 示例科技有限公司"
    with fresh_app().app_context():
        from idp.identity.service import find_person_by_username, representations_of
        roles = sorted(r.role.value for r in representations_of(find_person_by_username(ID_A)))
    assert roles == ["agent", "legal_representative"]
    assert_one_line_error(run("entities", "link", "--uscc", USCC, "--id-number", ID_B, "--role", "agent"),
                          "no person")


def test_clients_add_prints_id_and_secret(upgraded, run):
    result = run("clients", "add", "--name", "Portal A", "--redirect-uri", "https://portal.example.gov.cn/cb",
                 "--scope", "openid profile", "--scope", "email")
    assert result.code == 0, result.err
    lines = dict(line.split(":", 1) for line in result.out.splitlines() if line.startswith("client_"))
    client_id, secret = lines["client_id"].strip(), lines["client_secret"].strip()
    assert client_id and len(secret) >= 32
    with fresh_app().app_context():
        from idp.clients.service import list_clients
        [client] = list_clients()
        assert client.client_id == client_id
        assert secret not in json.dumps(client.to_public_dict())
        assert client.check_client_secret(secret) and not client.check_client_secret(secret + "x")


def test_clients_add_json_and_list_json(upgraded, run):
    first = run("clients", "add", "--name", "Portal A", "--redirect-uri", "https://a.example.gov.cn/cb", "--json")
    public = run("clients", "add", "--name", "Mobile", "--redirect-uri", "http://127.0.0.1:7000/cb", "--public",
                 "--client-id", "mobile-app", "--json")
    assert first.code == 0 and public.code == 0, first.err + public.err
    a, b = first.json(), public.json()
    assert a["client_id"] and a["client_secret"]
    assert b == {"client_id": "mobile-app", "client_secret": None}
    listed = run("clients", "list", "--json")
    assert listed.code == 0
    rows = {row["client_id"]: row for row in listed.json()}
    assert set(rows) == {a["client_id"], "mobile-app"}
    assert rows[a["client_id"]]["client_name"] == "Portal A"
    assert rows[a["client_id"]]["redirect_uris"] == ["https://a.example.gov.cn/cb"]
    assert rows["mobile-app"]["token_endpoint_auth_method"] == "none"
    assert a["client_secret"] not in listed.out
    text = run("clients", "list")
    assert f"{a['client_id']}\tPortal A\thttps://a.example.gov.cn/cb" in text.out.splitlines()


def test_clients_list_empty(upgraded, run):
    assert run("clients", "list").out.strip() == "no clients"
    assert run("clients", "list", "--json").json() == []


def jwks_kids():
    app = fresh_app()
    response = app.test_client().get("/jwks.json")
    assert response.status_code == 200
    return {key["kid"] for key in response.get_json()["keys"]}


def test_keys_list_rotate_retire(upgraded, run):
    listed = run("keys", "list", "--json")
    assert listed.code == 0, listed.err
    initial = {row["alg"]: row for row in listed.json()}
    assert set(initial) == {"RS256", "ES256"} and all(r["status"] == "active" for r in initial.values())
    old_rs = initial["RS256"]["kid"]

    rotated = run("keys", "rotate", "--alg", "RS256", "--json")
    assert rotated.code == 0, rotated.err
    [new] = rotated.json()
    assert new["alg"] == "RS256" and new["status"] == "active" and new["kid"] != old_rs

    states = {row["kid"]: row["status"] for row in run("keys", "list", "--json").json()}
    assert states[new["kid"]] == "active" and states[old_rs] == "previous"
    assert states[initial["ES256"]["kid"]] == "active", "rotating RS256 must not touch ES256"
    assert {old_rs, new["kid"], initial["ES256"]["kid"]} <= jwks_kids()

    text = run("keys", "list")
    assert f"{old_rs}\tRS256\tprevious" in text.out.splitlines()

    assert_one_line_error(run("keys", "retire", new["kid"]), "active")
    retired = run("keys", "retire", old_rs, "--json")
    assert retired.code == 0, retired.err
    assert retired.json()["status"] == "retired"
    assert old_rs not in jwks_kids() and new["kid"] in jwks_kids()
    states = {row["kid"]: row["status"] for row in run("keys", "list", "--json").json()}
    assert states[old_rs] == "retired", "a retired key stays listed"
    assert_one_line_error(run("keys", "retire", "no-such-kid"), "no-such-kid")


def test_keys_rotate_all_algorithms(upgraded, run):
    before = {row["kid"] for row in run("keys", "list", "--json").json()}
    rotated = run("keys", "rotate")
    assert rotated.code == 0
    assert len(rotated.out.splitlines()) == 2 and all(l.startswith("new active key ") for l in rotated.out.splitlines())
    rows = run("keys", "list", "--json").json()
    assert {r["kid"] for r in rows if r["status"] == "previous"} == before
    assert len([r for r in rows if r["status"] == "active"]) == 2


def test_audit_verify_seal_and_tamper(upgraded, run):
    from sqlalchemy import update
    from idp.audit.log import record
    from idp.audit.models import AuditEvent
    from idp.extensions import db

    assert run("audit", "verify").out.splitlines()[0] == "audit chain intact"
    app = fresh_app()
    with app.app_context():
        for i in range(3):
            record("test.event", n=i)
    waiting = run("audit", "verify", "--json")
    assert waiting.code == 0 and waiting.json()["ok"] is True
    assert (waiting.json()["sealed"], waiting.json()["unsealed"]) == (0, 3)
    sealed = run("audit", "seal")
    assert sealed.code == 0 and sealed.out.strip() == "sealed 3 record(s)"
    report = run("audit", "verify", "--json").json()
    assert report["ok"] is True and report["problems"] == []
    assert (report["sealed"], report["unsealed"], report["head"]) == (3, 0, 3)
    assert report["newest_checkpoint"]["seq"] == 3 and report["newest_checkpoint"]["kid"].startswith("es256-")
    assert "3 record(s) sealed (chain head at seq 3), 0 awaiting sealing" in run("audit", "verify").out
    with app.app_context():
        db.session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(data={"n": 99}))
        db.session.commit()
    bad = run("audit", "verify")
    assert bad.code == 1
    assert "record seq 2 was modified" in bad.out.splitlines()
    assert run("audit", "verify", "--json").json()["ok"] is False


@pytest.mark.parametrize("argv, fragments, stdin", [(*case, "long enough\n")[:3] for case in [
    (["users", "add", "--id-number", "110105194912310021", "--name", "x", "--password-stdin"], ["ID number"]),
    (["users", "add", "--id-number", "123", "--name", "x", "--password-stdin"], ["18 characters"]),
    (["users", "add", "--id-number", ID_A, "--password-stdin"], ["--name"]),
    (["users", "add", "--id-number", ID_A, "--name", "x", "--password-stdin"], ["password", "8 characters"],
     "short\n"),
    (["users", "add", "--id-number", ID_A, "--name", "x", "--password-stdin"], ["password is empty"], "\n"),
    (["users", "add", "--id-number", ID_A, "--name", "x", "--password-stdin"], ["no password on standard input"],
     ""),
    (["users", "add", "--id-number", ID_A, "--name", "x", "--password", "long enough"], ["--password"]),
    (["entities", "add", "--uscc", "91350100M000100Y44", "--name", "x"], ["credit code"]),
    (["entities", "link", "--uscc", USCC, "--id-number", ID_A, "--role", "owner"], ["--role", "owner"]),
    (["entities", "link", "--uscc", USCC, "--id-number", ID_A, "--role", "agent"], ["no entity"]),
    (["clients", "add", "--name", "x", "--redirect-uri", "http://example.com/cb"], ["https"]),
    (["clients", "add", "--name", "x", "--redirect-uri", "https://example.com/cb#frag"], ["fragment"]),
    (["clients", "add", "--name", "x", "--redirect-uri", "https://example.com/cb", "--scope", "superpowers"],
     ["scope"]),
    (["clients", "add", "--redirect-uri", "https://example.com/cb"], ["--name"]),
    (["clients", "add", "--name", "x", "--auth-method", "magic"], ["--auth-method"]),
    (["keys", "rotate", "--alg", "HS256"], ["--alg"]),
    (["no-such-group"], ["no-such-group"]),
    (["users", "add", "--id-number"], ["--id-number"]),
]])
def test_bad_arguments_give_one_error_line(upgraded, run, argv, fragments, stdin):
    result = run(*argv, stdin=stdin)
    assert_one_line_error(result, *fragments)
    assert result.out == ""


def test_invalid_configuration_is_one_error_line(run, monkeypatch):
    monkeypatch.setenv("IDP_SECRET_KEY", "short")
    monkeypatch.setenv("IDP_ISSUER", "http://idp.example.gov.cn")
    result = run("clients", "list")
    assert_one_line_error(result, "IDP_SECRET_KEY", "IDP_ISSUER")
    assert result.code == 2


def test_config_lists_every_variable(run):
    result = run("config", "--json")
    assert result.code == 0
    assert {row["env"] for row in result.json()} == {f.metadata["env"] for f in Settings.__dataclass_fields__.values()}


def test_help_lists_groups(run):
    result = run("--help")
    assert result.code == 0
    for group in ("db", "users", "entities", "clients", "keys", "audit"):
        assert f"  {group} " in result.out


def test_console_script_is_installed():
    script = ROOT / ".venv" / "bin" / "idp"
    if not script.exists():
        script = Path(sys.executable).parent / "idp"
    completed = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert completed.returncode == 0, completed.stderr
    assert "Usage: idp" in completed.stdout
    for group in EVERY_COMMAND:
        assert f"  {group} " in completed.stdout, group


EVERY_COMMAND = ("audit", "cas", "certs", "clients", "config", "db", "demo", "entities", "keys", "run", "saml", "users")


def test_every_command_group_is_registered():
    assert sorted(idp.cli.cli.commands) == sorted(EVERY_COMMAND)


def test_a_group_that_cannot_be_imported_stops_the_command(tmp_path):
    """A broken command group is an error of the whole command, never a group silently missing from it."""
    code = ("import sys; sys.modules['idp.pki.commands'] = None; "  # importing it now raises ImportError
            "from idp.cli import main; sys.exit(main(['--help']))")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert completed.returncode != 0
    assert "ModuleNotFoundError" in completed.stderr and "idp.pki.commands" in completed.stderr, completed.stderr
    assert "Usage: idp" not in completed.stdout


def test_command_before_db_upgrade_is_one_line_error(tmp_path, monkeypatch, capsys):
    import idp.cli as cli_module
    monkeypatch.setattr(cli_module.context, "_app", None)
    monkeypatch.setenv("IDP_SECRET_KEY", "s" * 40)
    (tmp_path / "empty.db").write_bytes(b"")  # a database file without the schema
    monkeypatch.setenv("IDP_DATABASE_URL", f"sqlite:///{tmp_path}/empty.db")
    monkeypatch.setattr("sys.stdin", io.StringIO("long enough password\n"))
    code = cli_module.main(["users", "add", "--id-number", "11010519491231002X", "--name", "张三",
                            "--password-stdin"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1
    assert err[0].startswith("error: database:") and "idp db upgrade" in err[0]
    assert f"{tmp_path}/empty.db" in err[0]  # names the database it looked at


def test_click_exceptions_from_subcommands_are_one_line(tmp_path, monkeypatch, capsys):
    import idp.cli as cli_module
    monkeypatch.setattr(cli_module.context, "_app", None)
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code = cli_module.main(["certs", "demo", "--out", str(blocker / "pki"), "--profiles", str(tmp_path / "p")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and err[0].startswith("error: cannot write the demo PKI")
