"""Settings from IDP_* variables: every problem reported at once, documented defaults."""
from __future__ import annotations

import base64
from dataclasses import MISSING, fields

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idp.config import Settings, _parse_positive_int
from idp.errors import ConfigError

SECRET = "s" * 40


def env(**values):
    base = {"IDP_SECRET_KEY": SECRET}
    base.update(values)
    return {k: v for k, v in base.items() if v is not None}


def problems_of(environ) -> list[str]:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(environ)
    return info.value.problems


def test_minimal_environment_gives_documented_defaults():
    settings = Settings.from_env(env())
    assert settings.secret_key == SECRET
    assert settings.issuer == "http://localhost:8000"
    assert settings.session_backend == "sql"
    assert settings.code_ttl == 60
    assert settings.trusted_proxies == ()
    assert settings.login_slowdown is True


def test_missing_secret_key_is_named():
    problems = problems_of({})
    assert len(problems) == 1
    assert "IDP_SECRET_KEY" in problems[0] and "required" in problems[0]
    with pytest.raises(ConfigError, match="IDP_SECRET_KEY"):
        Settings.from_env({"IDP_SECRET_KEY": ""})


def test_short_secret_key_is_refused():
    assert any("IDP_SECRET_KEY" in p for p in problems_of({"IDP_SECRET_KEY": "short"}))


def test_every_invalid_setting_is_reported_at_once():
    problems = problems_of({
        "IDP_ISSUER": "ftp://idp.example.gov.cn",
        "IDP_SESSION_BACKEND": "memcached",
        "IDP_CODE_TTL": "-5",
        "IDP_ACCESS_TOKEN_TTL": "soon",
        "IDP_LOGIN_SLOWDOWN": "maybe",
        "IDP_TRUSTED_PROXIES": "10.0.0.0/8, not-an-ip",
        "IDP_MASTER_KEY": base64.urlsafe_b64encode(b"too short").decode(),
    })
    names = ["IDP_SECRET_KEY", "IDP_ISSUER", "IDP_SESSION_BACKEND", "IDP_CODE_TTL", "IDP_ACCESS_TOKEN_TTL",
             "IDP_LOGIN_SLOWDOWN", "IDP_TRUSTED_PROXIES", "IDP_MASTER_KEY"]
    for name in names:
        assert sum(p.startswith(name + " ") or p.startswith(name + "=") for p in problems) == 1, (name, problems)
    assert len(problems) == len(names)
    message = str(ConfigError(problems))
    assert all(name in message for name in names)


def test_validate_reports_several_problems(tmp_path):
    settings = Settings(secret_key="short", database_url="mysql://db/idp", master_key_file=str(tmp_path / "absent"))
    with pytest.raises(ConfigError) as info:
        settings.validate()
    problems = info.value.problems
    assert len(problems) == 3, problems
    for name in ("IDP_SECRET_KEY", "IDP_DATABASE_URL", "IDP_MASTER_KEY_FILE"):
        assert sum(p.startswith(name) for p in problems) == 1, (name, problems)


def test_from_env_validates_the_whole_object(tmp_path):
    problems = problems_of(env(IDP_DATABASE_URL="mysql://db/idp", IDP_MASTER_KEY_FILE=str(tmp_path / "absent")))
    assert any("IDP_DATABASE_URL" in p for p in problems)
    assert any("IDP_MASTER_KEY_FILE" in p for p in problems)


@pytest.mark.parametrize("issuer", ["http://localhost", "http://localhost:8000", "http://127.0.0.1:5000",
                                    "http://[::1]:8000"])
def test_http_issuer_allowed_for_localhost(issuer):
    settings = Settings.from_env(env(IDP_ISSUER=issuer))
    assert settings.issuer == issuer
    assert settings.cookie_secure is False


@pytest.mark.parametrize("issuer", ["http://idp.example.gov.cn", "http://10.0.0.5:8000",
                                    "http://localhost.example.com"])
def test_http_issuer_refused_elsewhere(issuer):
    problems = problems_of(env(IDP_ISSUER=issuer))
    assert len(problems) == 1 and problems[0].startswith("IDP_ISSUER=") and "https" in problems[0]


@pytest.mark.parametrize("issuer", ["https://idp.example.gov.cn?x=1", "https://idp.example.gov.cn#frag",
                                    "idp.example.gov.cn", "https://"])
def test_malformed_issuer_refused(issuer):
    assert problems_of(env(IDP_ISSUER=issuer))[0].startswith("IDP_ISSUER=")


def test_https_issuer_gives_secure_cookies_and_no_trailing_slash():
    settings = Settings.from_env(env(IDP_ISSUER="https://idp.example.gov.cn/"))
    assert settings.issuer == "https://idp.example.gov.cn"
    assert settings.cookie_secure is True


def test_values_are_parsed_to_their_types():
    key = base64.urlsafe_b64encode(bytes(range(32))).decode().rstrip("=")
    settings = Settings.from_env(env(IDP_CODE_TTL="30", IDP_LOGIN_SLOWDOWN="off", IDP_MASTER_KEY=key,
                                     IDP_TRUSTED_PROXIES="10.0.0.1, 192.168.0.0/16"))
    assert settings.code_ttl == 30 and settings.login_slowdown is False
    assert settings.master_key == bytes(range(32))
    assert [str(n) for n in settings.trusted_proxies] == ["10.0.0.1/32", "192.168.0.0/16"]


def test_settings_are_frozen():
    settings = Settings.from_env(env())
    with pytest.raises(AttributeError):
        settings.issuer = "https://elsewhere.example"


def test_overrides_and_unknown_override():
    assert Settings.from_env(env(), session_backend="memory").session_backend == "memory"
    problems = problems_of_overrides(no_such_setting=1)
    assert problems == ["unknown setting 'no_such_setting'"]


def problems_of_overrides(**overrides):
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env(), **overrides)
    return info.value.problems


def test_documentation_covers_every_field():
    rows = Settings.documentation()
    by_env = {variable: (default, doc) for variable, default, doc in rows}
    assert len(rows) == len(fields(Settings)) == len(by_env)
    for f in fields(Settings):
        variable = f.metadata["env"]
        assert variable == "IDP_" + f.name.upper()
        default, doc = by_env[variable]
        assert doc and doc.strip().endswith("."), variable
        assert f.default is not MISSING
        assert default == ("(required)" if f.metadata["required"] else repr(f.default))
    assert by_env["IDP_SECRET_KEY"][0] == "(required)"
    assert by_env["IDP_SESSION_BACKEND"][0] == "'sql'"


def test_documented_defaults_are_the_defaults_from_an_empty_environment():
    settings = Settings.from_env(env())
    for f in fields(Settings):
        if not f.metadata["required"]:
            assert getattr(settings, f.name) == f.default, f.name


def test_sms_http_sender_needs_a_url_and_templates_a_code():
    assert any("IDP_SMS_HTTP_URL" in p for p in problems_of(env(IDP_SMS_SENDER="http")))
    assert any("IDP_SMS_HTTP_TEMPLATE" in p for p in problems_of(env(IDP_SMS_HTTP_TEMPLATE="no code here")))
    settings = Settings.from_env(env(IDP_SMS_SENDER="http", IDP_SMS_HTTP_URL="https://sms.example.gov.cn/send",
                                     IDP_REQUIRE_MFA_FOR_ADMINS="1"))
    assert settings.sms_sender == "http" and settings.require_mfa_for_admins is True


def test_saml_allowed_hashes_are_a_list_of_known_hash_functions():
    assert Settings.from_env(env()).saml_allowed_hashes == ("sha256", "sha384", "sha512")
    assert Settings.from_env(env(IDP_SAML_ALLOWED_HASHES="SHA1, sha256")).saml_allowed_hashes == ("sha1", "sha256")
    for bad in ("md5", " , ", "sha256,ripemd160"):
        assert any("IDP_SAML_ALLOWED_HASHES" in p for p in problems_of(env(IDP_SAML_ALLOWED_HASHES=bad))), bad


def test_device_code_limits_are_settings_and_a_bad_one_is_named():
    assert (Settings.from_env(env()).device_codes_per_ip, Settings.from_env(env()).device_codes_per_client) == (60, 600)
    lowered = Settings.from_env(env(IDP_DEVICE_CODES_PER_IP="5", IDP_DEVICE_CODES_PER_CLIENT=" 50 "))
    assert (lowered.device_codes_per_ip, lowered.device_codes_per_client) == (5, 50)
    assert problems_of(env(IDP_DEVICE_CODES_PER_IP="0", IDP_DEVICE_CODES_PER_CLIENT="lots")) == [
        "IDP_DEVICE_CODES_PER_IP='0' is invalid: must be a positive integer",
        "IDP_DEVICE_CODES_PER_CLIENT='lots' is invalid: must be a positive integer"]


COUNT_SETTINGS = sorted(f.metadata["env"] for f in fields(Settings) if f.metadata["parse"] is _parse_positive_int)


@given(st.sampled_from(COUNT_SETTINGS),
       st.one_of(st.text(), st.integers().map(str), st.integers(1, 10**6).map(lambda n: f" {n}\t")))
def test_a_count_setting_is_a_positive_whole_number_or_refused_saying_so(variable, raw):
    """Whatever an operator writes, a count setting is that number, or start-up names the variable
    and says what it must be (never a message of the parser underneath)."""
    try:
        number = int(raw.strip())
    except ValueError:
        number = None
    if raw == "":
        return  # unset: the default
    if number is not None and number > 0:
        field_name = variable.removeprefix("IDP_").lower()
        assert getattr(Settings.from_env(env(**{variable: raw})), field_name) == number
    else:
        assert problems_of(env(**{variable: raw})) == [f"{variable}={raw!r} is invalid: must be a positive integer"]
