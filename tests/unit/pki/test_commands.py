"""The ``certs`` click group and the ``idp-sign`` entry point."""
import base64
import json

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


def test_idp_sign_cli(pki, store, capsys):
    entry = pki.entry("demo-cn", "person")
    rc = sign_main(["--p12", str(pki.root / entry["p12"]), "--password", "demo",
                    "--challenge", "nonce-123"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["algorithm"] == "RS256" and len(out["chain"]) == 1
    who = store.authenticate(out["certificate"], out["chain"])
    assert verify_challenge_signature(out["certificate"], b"nonce-123",
                                      base64.b64decode(out["signature"])) == "RS256"
    assert who.id_number == "11010519491231002X"


def test_idp_sign_errors_are_one_line(pki, capsys):
    entry = pki.entry("demo-cn", "person")
    assert sign_main(["--p12", str(pki.root / entry["p12"]), "--password", "x", "--challenge", "a"]) == 2
    assert sign_main(["--p12", "/nonexistent.p12", "--challenge", "a"]) == 2
    assert sign_main(["--key", str(pki.root / entry["key"]), "--challenge", "a"]) == 2
    other = pki.entry("demo-cn", "entity")
    assert sign_main(["--key", str(pki.root / entry["key"]), "--cert", str(pki.root / other["cert"]),
                      "--password", "demo", "--challenge", "a"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and all(l.startswith("idp-sign: error:") for l in err.splitlines())
