"""The ``certs`` click group and the ``idp-sign`` entry point."""
import base64
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from idp.pki import verify_challenge_signature
from idp.pki.commands import certs
from idp.pki.signer import main as sign_main


def test_demo_then_status(tmp_path):
    runner = CliRunner()
    out, profiles = tmp_path / "demo", tmp_path / "profiles"
    res = runner.invoke(certs, ["demo", "--out", str(out), "--profiles", str(profiles)])
    assert res.exit_code == 0, res.output
    assert (out / "private" / "demo-cn" / "person.p12").exists()
    assert not list(out.glob("*/*.key.pem"))                # keys only under private/
    res = runner.invoke(certs, ["status", "--json", "--profiles", str(profiles)])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert report["profiles"] == ["demo-cn", "demo-gmt0015", "demo-serial"]
    assert len(report["ca_certificates"]) == 4 and len(report["crls"]) == 4
    assert all(c["days_left"] > 3000 and c["state"] == "ok" for c in report["ca_certificates"])
    res = runner.invoke(certs, ["status", "--profiles", str(profiles)])
    assert res.exit_code == 0 and "demo-serial" in res.output


def test_status_bad_input_is_one_line(tmp_path):
    runner = CliRunner()
    res = runner.invoke(certs, ["status", "--profiles", str(tmp_path / "missing")])
    assert res.exit_code != 0 and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1
    (tmp_path / "bad.toml").write_text("this is = = not toml")
    res = runner.invoke(certs, ["status", "--profiles", str(tmp_path)])
    assert res.exit_code == 1 and "Traceback" not in res.output


def test_status_warns_about_expiring_crl(pki, tmp_path):
    from idp.pki.commands import collect_status
    import datetime as dt
    store = pki.store()
    report = collect_status(store, dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=350))
    assert {c["state"] for c in report["crls"]} == {"warning"}


def _password_file(tmp_path, text):
    path = tmp_path / "password.txt"
    path.write_text(text)
    return str(path)


def test_idp_sign_cli(pki, store, capsys, tmp_path):
    entry = pki.entry("demo-cn", "person")
    rc = sign_main(["--p12", str(pki.root / entry["p12"]), "--password-file", _password_file(tmp_path, "demo\n"),
                    "--challenge", "nonce-123"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["algorithm"] == "RS256" and len(out["chain"]) == 1
    who = store.authenticate(out["certificate"], out["chain"])
    assert verify_challenge_signature(out["certificate"], b"nonce-123",
                                      base64.b64decode(out["signature"])) == "RS256"
    assert who.id_number == "11010519491231002X"


def test_idp_sign_asks_for_the_password_of_an_encrypted_bundle(pki, capsys, monkeypatch):
    import idp.pki.signer as signer
    asked = []
    monkeypatch.setattr(signer.getpass, "getpass", lambda prompt: asked.append(prompt) or "demo")
    entry = pki.entry("demo-cn", "person")
    assert sign_main(["--p12", str(pki.root / entry["p12"]), "--challenge", "nonce-123"]) == 0
    assert asked == ["password of the bundle or key: "]
    assert json.loads(capsys.readouterr().out)["algorithm"] == "RS256"
    # the same for a PEM key
    assert sign_main(["--key", str(pki.root / entry["key"]), "--cert", str(pki.root / entry["cert"]),
                      "--challenge", "nonce-123"]) == 0
    assert len(asked) == 2


def test_idp_sign_takes_no_password_argument(pki, capsys):
    entry = pki.entry("demo-cn", "person")
    with pytest.raises(SystemExit):
        sign_main(["--p12", str(pki.root / entry["p12"]), "--password", "demo", "--challenge", "a"])
    assert "unrecognized arguments: --password demo" in capsys.readouterr().err


def test_idp_sign_errors_are_one_line(pki, capsys, tmp_path, monkeypatch):
    import idp.pki.signer as signer

    def no_terminal(prompt):
        raise EOFError
    monkeypatch.setattr(signer.getpass, "getpass", no_terminal)
    entry = pki.entry("demo-cn", "person")
    wrong, right = _password_file(tmp_path, "x\n"), str(tmp_path / "right.txt")
    Path(right).write_text("demo")
    assert sign_main(["--p12", str(pki.root / entry["p12"]), "--password-file", wrong, "--challenge", "a"]) == 2
    assert sign_main(["--p12", str(pki.root / entry["p12"]), "--challenge", "a"]) == 2  # no terminal to ask at
    assert "type its password, or give --password-file" in capsys.readouterr().err
    assert sign_main(["--p12", str(pki.root / entry["p12"]), "--password-file", _password_file(tmp_path, ""),
                      "--challenge", "a"]) == 2
    assert "password file" in capsys.readouterr().err
    assert sign_main(["--p12", "/nonexistent.p12", "--challenge", "a"]) == 2
    assert sign_main(["--key", str(pki.root / entry["key"]), "--challenge", "a"]) == 2
    other = pki.entry("demo-cn", "entity")
    assert sign_main(["--key", str(pki.root / entry["key"]), "--cert", str(pki.root / other["cert"]),
                      "--password-file", right, "--challenge", "a"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and all(l.startswith("idp-sign: error:") for l in err.splitlines())
