"""Every `idp` command reads the settings the server reads: the environment, then the file named by
IDP_ENV_FILE, then the defaults. `idp config` shows what is in effect and where it came from, and no
command but `idp db upgrade` (or `idp demo`) leaves a database file behind."""
from __future__ import annotations

import json
import os

import pytest

import idp.cli
from helpers import cli_runner
from idp.config import Settings, explain, layered_environ, masked
from idp.errors import ConfigError

SECRET = "settings-file-secret-" + "z" * 32
ID_A = "11010519491231002X"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("IDP_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # relative defaults (var/idp.db, certs/profiles) point into the test's directory
    monkeypatch.setattr(idp.cli.context, "_app", None)


@pytest.fixture
def run(capsys, monkeypatch):
    return cli_runner(capsys, monkeypatch)


def write_env_file(path, **values):
    path.write_text("# settings of a test deployment\n"
                    + "".join(f"{name}='{value}'\n" for name, value in values.items()), encoding="utf-8")
    return path


@pytest.fixture
def env_file(tmp_path, monkeypatch):
    """A settings file naming non-default values, as scripts/demo.sh writes one; IDP_ENV_FILE names it."""
    from idp.pki.demo import generate
    profiles = tmp_path / "deployment" / "profiles"
    generate(str(tmp_path / "deployment" / "pki"), str(profiles))
    path = write_env_file(tmp_path / "deployment.env", IDP_SECRET_KEY=SECRET,
                          IDP_DATABASE_URL=f"sqlite:///{tmp_path}/deployment/idp.db",
                          IDP_ISSUER="http://localhost:8123", IDP_TRUST_PROFILES_DIR=str(profiles),
                          IDP_KEY_PREPUBLISH_SECONDS="0")
    monkeypatch.setenv("IDP_ENV_FILE", str(path))
    return path


# -- reading the file -------------------------------------------------------------------------------

def test_environment_wins_over_the_file_and_the_file_over_defaults(tmp_path):
    path = write_env_file(tmp_path / "s.env", IDP_SECRET_KEY=SECRET, IDP_CODE_TTL="30", IDP_ISSUER="http://localhost:1")
    settings = Settings.from_env({"IDP_ENV_FILE": str(path), "IDP_CODE_TTL": "45", "IDP_ISSUER": ""})
    assert settings.secret_key == SECRET                # file
    assert settings.code_ttl == 45                      # environment over file
    assert settings.issuer == "http://localhost:1"      # an empty variable does not hide the file's value
    assert settings.access_token_ttl == 900             # default
    _merged, sources = layered_environ({"IDP_ENV_FILE": str(path), "IDP_CODE_TTL": "45"})
    assert sources["IDP_SECRET_KEY"] == f"file {path}" and sources["IDP_CODE_TTL"] == "env"


def test_file_syntax_comments_quotes_and_export(tmp_path):
    path = tmp_path / "s.env"
    path.write_text(f'# comment\n\nexport IDP_SECRET_KEY="{SECRET}"\nIDP_LOG_LEVEL=DEBUG  # inline comment\n')
    settings = Settings.from_env({"IDP_ENV_FILE": str(path)})
    assert settings.secret_key == SECRET and settings.log_level == "DEBUG"


@pytest.mark.parametrize("content, fragment", [
    ("IDP_SECRET_KEY=" + SECRET + "\nIDP_SESION_TTL=60\n", "sets IDP_SESION_TTL, which is no setting"),
    ("IDP_ENV_FILE=/etc/other.env\n", "must not name another settings file"),
])
def test_unknown_names_in_the_file_are_errors(tmp_path, content, fragment):
    path = tmp_path / "s.env"
    path.write_text(content)
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"IDP_ENV_FILE": str(path)})
    assert fragment in str(info.value)


def test_missing_file_is_an_error(tmp_path, run, monkeypatch):
    monkeypatch.setenv("IDP_ENV_FILE", str(tmp_path / "nowhere.env"))
    result = run("clients", "list")
    assert result.code == 2 and result.err.count("\n") == 1
    assert result.err.startswith("error: ") and "nowhere.env" in result.err and "no such file" in result.err


def test_invalid_value_in_the_file_names_the_variable(tmp_path):
    path = write_env_file(tmp_path / "s.env", IDP_SECRET_KEY=SECRET, IDP_CODE_TTL="soon")
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"IDP_ENV_FILE": str(path)})
    assert "IDP_CODE_TTL='soon' is invalid" in str(info.value)


# -- idp config ----------------------------------------------------------------------------------

def test_config_shows_values_in_effect_with_their_source_and_masks_secrets(env_file, run, monkeypatch):
    monkeypatch.setenv("IDP_SESSION_TTL", "600")
    monkeypatch.setenv("IDP_REDIS_URL", "redis://:hunter2-redis@127.0.0.1:6379/3")
    result = run("config", "--json")
    assert result.code == 0, result.err
    rows = {row["env"]: row for row in result.json()}
    assert rows["IDP_SESSION_TTL"] == {**rows["IDP_SESSION_TTL"], "value": "600", "source": "env", "default": "28800"}
    assert rows["IDP_ISSUER"]["value"] == "http://localhost:8123"
    assert rows["IDP_ISSUER"]["source"] == f"file {env_file}"
    assert rows["IDP_CODE_TTL"]["value"] == "60" and rows["IDP_CODE_TTL"]["source"] == "default"
    assert rows["IDP_SECRET_KEY"]["value"] == "********" and rows["IDP_SECRET_KEY"]["source"] == f"file {env_file}"
    assert rows["IDP_REDIS_URL"]["value"] == "redis://:********@127.0.0.1:6379/3"
    assert SECRET not in result.out and "hunter2" not in result.out

    text = run("config")
    assert text.code == 0
    assert f"IDP_ENV_FILE={env_file}" in text.out
    line = next(line for line in text.out.splitlines() if line.startswith("IDP_SESSION_TTL "))
    assert "600" in line and "env" in line and "(default 28800)" in line
    assert SECRET not in text.out


def test_config_names_what_would_stop_the_server(run):
    result = run("config")
    assert result.code == 2
    line = next(line for line in result.out.splitlines() if line.startswith("IDP_SECRET_KEY "))
    assert "missing" in line
    assert result.err.startswith("error: ") and "IDP_SECRET_KEY is required" in result.err


def test_masked_urls_keep_everything_but_the_password():
    assert masked("IDP_DATABASE_URL", "postgresql+psycopg://idp:s3cr@t@db.internal:5432/idp") == \
        "postgresql+psycopg://idp:********@db.internal:5432/idp"
    assert masked("IDP_DATABASE_URL", "sqlite:///var/demo.db") == "sqlite:///var/demo.db"
    assert masked("IDP_MASTER_KEY", "abc") == "********"
    rows, problems = explain({"IDP_SECRET_KEY": SECRET, "IDP_PAIRWISE_SALT": "p" * 40})
    assert not problems and {r["env"]: r["value"] for r in rows}["IDP_PAIRWISE_SALT"] == "********"


# -- every command group reads the file ----------------------------------------------------------

def test_every_command_group_reads_the_settings_file(env_file, run, tmp_path):
    database = tmp_path / "deployment" / "idp.db"
    assert run("db", "upgrade").code == 0 and database.is_file()
    assert not (tmp_path / "var").exists()  # the default database was not touched

    added = run("users", "add", "--id-number", ID_A, "--name", "张三", "--password", "correct horse battery",
                "--json")
    assert added.code == 0, added.err
    assert run("entities", "add", "--uscc", "91350100M000100Y43", "--name", "示范科技有限公司").code == 0
    assert run("clients", "add", "--name", "Portal C", "--redirect-uri", "https://c.gov.cn/cb").code == 0
    listed = run("clients", "list", "--json")
    assert [c["client_name"] for c in listed.json()] == ["Portal C"]
    assert run("cas", "add-service", "--name", "Portal D", "--service-url", "https://d.gov.cn/").code == 0
    assert [s["name"] for s in run("cas", "list", "--json").json()] == ["Portal D"]

    # IDP_KEY_PREPUBLISH_SECONDS=0 in the file: a rotated key signs at once (the default would pre-publish it)
    rotated = run("keys", "rotate", "--alg", "ES256", "--json")
    assert rotated.code == 0, rotated.err
    assert [r["status"] for r in rotated.json()] == ["active"]
    assert any(k["kid"] == rotated.json()[0]["kid"] for k in run("keys", "list", "--json").json())

    assert run("audit", "seal").code == 0
    assert run("audit", "verify").code == 0
    exported = run("audit", "export", "--since", "2000-01-01")
    assert exported.code == 0
    lines = [json.loads(line) for line in exported.out.splitlines()]
    assert [line["event"] for line in lines if "event" in line] and any("checkpoint" in line for line in lines)

    # IDP_TRUST_PROFILES_DIR from the file: the deployment's profiles, not the repository's certs/profiles
    status = run("certs", "status", "--json")
    assert status.json()["profiles_dir"] == str(tmp_path / "deployment" / "profiles")
    assert {p for p in status.json()["profiles"]} and status.code == 0, status.err
    refreshed = run("certs", "refresh", "--json")
    assert refreshed.json()["profiles_dir"] == str(tmp_path / "deployment" / "profiles")

    seeded = run("demo", "--seed-only")
    assert seeded.code == 0, seeded.err
    with idp.cli.get_app().app_context():
        from idp.identity.service import find_person_by_username
        assert find_person_by_username("110101198001010010").is_admin  # the demo administrator, in this database
    assert idp.cli.get_app().extensions["idp"].settings.issuer == "http://localhost:8123"


def test_certs_commands_follow_the_environment_too(tmp_path, run, monkeypatch):
    monkeypatch.setenv("IDP_TRUST_PROFILES_DIR", str(tmp_path / "elsewhere"))
    result = run("certs", "status")
    assert result.code == 1 and result.err.strip() == f"error: no trust profile directory at {tmp_path}/elsewhere"
    assert run("certs", "refresh").err.strip() == f"error: no trust profile directory at {tmp_path}/elsewhere"


# -- no database file as a side effect -----------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["clients", "list"], ["keys", "list"], ["audit", "verify"], ["audit", "export", "--since", "2026-01-01"],
    ["cas", "list"], ["users", "set-admin", ID_A],
    ["users", "add", "--id-number", ID_A, "--name", "张三", "--password", "correct horse battery"],
    ["entities", "add", "--uscc", "91350100M000100Y43", "--name", "示范科技有限公司"],
    ["clients", "initial-token"], ["run"],
])
def test_no_command_but_upgrade_creates_the_database(argv, run, monkeypatch, tmp_path):
    monkeypatch.setenv("IDP_SECRET_KEY", SECRET)
    result = run(*argv)
    database = tmp_path / "var" / "idp.db"
    assert result.code == 1 and result.err.count("\n") == 1, result.err
    assert result.err.startswith(f"error: no database at {database} (IDP_DATABASE_URL=sqlite:///var/idp.db, "
                                 "from default): create it with 'idp db upgrade'")
    assert "IDP_ENV_FILE=var/demo.env" in result.err  # where the demo's database is
    assert not database.exists() and not (tmp_path / "var").exists()


def test_missing_secret_points_to_the_demo_settings_file(run, tmp_path):
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "demo.env").write_text(f"IDP_SECRET_KEY={SECRET}\n")
    result = run("clients", "list")
    assert result.code == 2 and "IDP_SECRET_KEY is required" in result.err
    assert "export IDP_ENV_FILE=var/demo.env" in result.err


# -- users set-admin ---------------------------------------------------------------------------

def test_set_admin_grants_and_revokes(env_file, run):
    assert run("db", "upgrade").code == 0
    assert run("users", "add", "--id-number", ID_A, "--name", "张三", "--password", "correct horse battery",
               "--phone", "13800138000").code == 0
    granted = run("users", "set-admin", ID_A, "--json")
    assert granted.code == 0, granted.err
    assert granted.json()["is_admin"] is True and granted.json()["changed"] is True
    again = run("users", "set-admin", "13800138000")  # phone works as well
    assert again.code == 0 and again.out.strip().endswith("is an administrator (unchanged)")
    revoked = run("users", "set-admin", ID_A, "--revoke", "--json")
    assert revoked.json()["is_admin"] is False and revoked.json()["changed"] is True
    exported = run("audit", "export", "--since", "2000-01-01")
    events = [json.loads(line)["event"] for line in exported.out.splitlines()]
    assert events.count("person.admin_granted") == 1 and events.count("person.admin_revoked") == 1
    unknown = run("users", "set-admin", "44030419900307123X")
    assert unknown.code == 1 and unknown.err.startswith("error: no person with") and unknown.err.count("\n") == 1


# -- properties ----------------------------------------------------------------------------------

from urllib.parse import quote, urlsplit  # noqa: E402

from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st  # noqa: E402

# Values as people write them: no quote, backslash or line break (the file's single quotes keep the rest
# literal: '#', '$', '=', spaces).
plain_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E, blacklist_characters="'\\"),
                     min_size=32, max_size=80)
setting_values = st.fixed_dictionaries({"IDP_SECRET_KEY": plain_text}, optional={
    "IDP_CODE_TTL": st.integers(1, 10**6).map(str),
    "IDP_LOG_LEVEL": st.sampled_from(["DEBUG", "INFO", "WARNING", "ERROR"]),
    "IDP_ISSUER": st.from_regex(r"https://[a-z]{1,12}\.gov\.cn(/[a-z]{1,8})?", fullmatch=True),
    "IDP_TRUSTED_PROXIES": st.lists(st.ip_addresses(v=4).map(str), max_size=3).map(",".join),
    "IDP_LOGIN_SLOWDOWN": st.sampled_from(["true", "false", "on", "off", "1", "0"]),
    "IDP_PAIRWISE_SALT": plain_text,
})


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=setting_values, ttl=st.integers(1, 10**6).map(str))
def test_a_settings_file_means_what_the_same_environment_means(tmp_path, values, ttl):
    path = write_env_file(tmp_path / "prop.env", **values)
    assert Settings.from_env({"IDP_ENV_FILE": str(path)}) == Settings.from_env(values)
    # a variable of the environment wins over the file's line
    assert Settings.from_env({"IDP_ENV_FILE": str(path), "IDP_CODE_TTL": ttl}) == \
        Settings.from_env({**values, "IDP_CODE_TTL": ttl})


@given(user=st.from_regex(r"[a-z]{1,10}", fullmatch=True), password=st.text(min_size=1, max_size=30),
       host=st.from_regex(r"[a-z]{1,10}(\.[a-z]{1,6})?", fullmatch=True), port=st.integers(1, 65535))
def test_masked_database_urls_hide_exactly_the_password(user, password, host, port):
    url = f"postgresql+psycopg://{user}:{quote(password, safe='')}@{host}:{port}/idp"
    shown = urlsplit(masked("IDP_DATABASE_URL", url))
    assert (shown.username, shown.password, shown.hostname, shown.port, shown.path) == \
        (user, "********", host, port, "/idp")


def test_the_server_reads_the_settings_file(env_file):
    from idp import create_app
    app = create_app()  # as idp.wsgi does: settings from the environment, which names the file
    assert app.extensions["idp"].settings.issuer == "http://localhost:8123"
    assert app.extensions["idp"].settings.trust_profiles_dir.endswith("deployment/profiles")
