"""Settings: one typed, frozen object read from ``IDP_*`` environment variables.

Every option has a documented default (see README "Configuration"); ``Settings.from_env``
reports every invalid or missing setting at once, naming each variable.

Settings may also come from a file of ``IDP_*=value`` lines named by ``IDP_ENV_FILE`` (the demo
writes one, ``var/demo.env``). The server and every ``idp`` command read it the same way, through
``layered_environ``: a variable set in the environment wins over the file, the file over the default.
"""
from __future__ import annotations

import base64
import ipaddress
import os
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from .authn.result import ACR_LEVELS
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from .errors import ConfigError
from .storage.database_url import database_uri
from .storage.redis_url import DEFAULT_OPTIONS as REDIS_DEFAULT_OPTIONS
from .storage.redis_url import SECRET_OPTIONS as REDIS_SECRET_OPTIONS
from .storage.redis_url import parse_redis_url

ENV_FILE_VARIABLE = "IDP_ENV_FILE"
#: Settings whose values are never printed (`idp config` masks them).
SECRET_SETTINGS = frozenset({"IDP_SECRET_KEY", "IDP_MASTER_KEY", "IDP_MASTER_KEY_PREVIOUS", "IDP_PAIRWISE_SALT"})
#: Settings holding URLs that may carry a password.
URL_SETTINGS = frozenset({"IDP_DATABASE_URL", "IDP_REDIS_URL"})


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("expected true/false")


def _whole_number(raw: str, expected: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise ValueError(expected) from None


def _parse_positive_int(raw: str) -> int:
    value = _whole_number(raw, "must be a positive integer")
    if value <= 0:
        raise ValueError("must be a positive integer")
    return value


def _parse_non_negative_int(raw: str) -> int:
    value = _whole_number(raw, "must be zero or a positive integer")
    if value < 0:
        raise ValueError("must be zero or a positive integer")
    return value


def _parse_list(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


SAML_HASHES = ("sha1", "sha224", "sha256", "sha384", "sha512")


def _parse_hashes(raw: str) -> tuple[str, ...]:
    hashes = _parse_list(raw.lower())
    if not hashes or any(h not in SAML_HASHES for h in hashes):
        raise ValueError("must be a comma-separated list of " + ", ".join(SAML_HASHES))
    return hashes


def _parse_networks(raw: str) -> tuple[ipaddress._BaseNetwork, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in _parse_list(raw))


def _parse_issuer(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError("must be an absolute http(s) URL")
    if parts.query or parts.fragment:
        raise ValueError("must not contain a query or fragment (OIDC Discovery 3)")
    if parts.scheme == "http" and parts.hostname not in {"localhost", "127.0.0.1", "::1"}:
        raise ValueError("must use https (http is allowed only for localhost)")
    return raw.rstrip("/")


def _parse_secret(raw: str) -> str:
    if len(raw) < 32:
        raise ValueError("must be at least 32 characters of random data")
    return raw


def _parse_master_key(raw: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError("must be base64url") from exc
    if len(key) != 32:
        raise ValueError("must decode to 32 bytes (AES-256)")
    return key


def _parse_redis_url(raw: str) -> str:
    parse_redis_url(raw)  # ValueError naming the problem
    return raw


def _parse_header_name(raw: str) -> str:
    value = raw.strip()
    if not value or not all(c.isalnum() or c == "-" for c in value):
        raise ValueError("must be an HTTP header name (letters, digits and '-')")
    return value


def _parse_choice(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in choices:
            raise ValueError("must be one of " + ", ".join(choices))
        return raw

    return parse


def _setting(env: str, default: Any, parse: Callable[[str], Any], doc: str, required: bool = False):
    return field(default=default, metadata={"env": env, "parse": parse, "doc": doc, "required": required})


@dataclass(frozen=True)
class Settings:
    issuer: str = _setting("IDP_ISSUER", "http://localhost:8000", _parse_issuer,
                           "Issuer identifier; the public base URL of the server.")
    database_url: str = _setting("IDP_DATABASE_URL", "sqlite:///var/idp.db", str,
                                 "sqlite:///path or postgresql://user:password@host:port/db; a primary with "
                                 "standbys as a libpq host list, postgresql://user@h1:5432,h2:5432/db"
                                 "?target_session_attrs=read-write (README \"Deploying\").")
    db_pool_size: int = _setting("IDP_DB_POOL_SIZE", 10, _parse_positive_int,
                                 "PostgreSQL connections a server process keeps in its pool (its 8 request threads, "
                                 "the job runner and the CRL refresher); README \"Deploying\" has the arithmetic.")
    db_max_overflow: int = _setting("IDP_DB_MAX_OVERFLOW", 5, _parse_non_negative_int,
                                    "Extra PostgreSQL connections a process may open above IDP_DB_POOL_SIZE "
                                    "under load (closed again when returned).")
    db_pool_timeout: int = _setting("IDP_DB_POOL_TIMEOUT", 10, _parse_positive_int,
                                    "Seconds a request waits for a free pooled connection before it is "
                                    "answered 503 with Retry-After.")
    secret_key: str = _setting("IDP_SECRET_KEY", None, _parse_secret,
                               "Signs cookies and CSRF tokens; at least 32 random characters.", required=True)
    master_key: bytes | None = _setting("IDP_MASTER_KEY", None, _parse_master_key,
                                        "base64url 32-byte key encrypting signing keys at rest; "
                                        "derived from IDP_SECRET_KEY when unset.")
    master_key_file: str | None = _setting("IDP_MASTER_KEY_FILE", None, str,
                                           "File holding the master key (alternative to IDP_MASTER_KEY).")
    pairwise_salt: str | None = _setting("IDP_PAIRWISE_SALT", None, _parse_secret,
                                         "Salt of pairwise subject identifiers (OIDC Core 8.1); derived "
                                         "from IDP_SECRET_KEY when unset. Changing it changes pairwise subs.")
    session_backend: str = _setting("IDP_SESSION_BACKEND", "sql", _parse_choice("sql", "redis", "memory"),
                                    "Where SSO sessions, throttles and one-time values live.")
    redis_url: str = _setting("IDP_REDIS_URL", "redis://127.0.0.1:6379/0", _parse_redis_url,
                              "Redis deployment, used when IDP_SESSION_BACKEND=redis: redis://host:port/db "
                              "(rediss:// for TLS), redis+sentinel://host:port,host:port/service/db or "
                              "redis+cluster://host:port,host:port (README \"Redis deployments\").")
    redis_wait_replicas: int | None = _setting(
        "IDP_REDIS_WAIT_REPLICAS", None, _parse_non_negative_int,
        "Replicas that must have each Redis write (WAIT) before the request that made it is answered; "
        "unset = 1 on Sentinel and Cluster, 0 on a single server. 0 = no wait: a failover may lose the "
        "last writes (README \"Redis deployments\").")
    redis_wait_timeout_ms: int = _setting("IDP_REDIS_WAIT_TIMEOUT_MS", 500, _parse_positive_int,
                                          "How long a write waits for those replicas, in milliseconds; "
                                          "then the request is answered 503 (retry).")
    session_ttl: int = _setting("IDP_SESSION_TTL", 8 * 3600, _parse_positive_int,
                                "Lifetime of an SSO session in seconds.")
    code_ttl: int = _setting("IDP_CODE_TTL", 60, _parse_positive_int,
                             "Lifetime of an authorization code in seconds.")
    access_token_ttl: int = _setting("IDP_ACCESS_TOKEN_TTL", 900, _parse_positive_int,
                                     "Lifetime of an access token in seconds.")
    id_token_ttl: int = _setting("IDP_ID_TOKEN_TTL", 3600, _parse_positive_int,
                                 "Lifetime of an ID token in seconds.")
    refresh_token_ttl: int = _setting("IDP_REFRESH_TOKEN_TTL", 30 * 86400, _parse_positive_int,
                                      "Lifetime of a refresh token family in seconds.")
    access_token_alg: str = _setting("IDP_ACCESS_TOKEN_ALG", "ES256", _parse_choice("ES256", "RS256"),
                                     "Signature algorithm of JWT access tokens (RFC 9068).")
    key_prepublish_seconds: int = _setting("IDP_KEY_PREPUBLISH_SECONDS", 600, _parse_non_negative_int,
                                           "How long a new signing key is published in JWKS (or the SAML metadata) "
                                           "before it signs (longer than relying parties cache them); 0 = at once "
                                           "(a single worker only).")
    key_retire_leeway_seconds: int = _setting("IDP_KEY_RETIRE_LEEWAY_SECONDS", 300, _parse_non_negative_int,
                                              "Extra time a replaced key stays published after the longest "
                                              "token lifetime (clock skew); then it is retired automatically.")
    master_key_previous: bytes | None = _setting("IDP_MASTER_KEY_PREVIOUS", None, _parse_master_key,
                                                 "The former master key during a master-key rotation "
                                                 "(`idp keys rewrap`): still accepted for decryption.")
    log_format: str = _setting("IDP_LOG_FORMAT", "text", _parse_choice("text", "json"),
                               "Log format: 'json' (one object per line with a request id; use in "
                               "production) or 'text' (development).")
    log_level: str = _setting("IDP_LOG_LEVEL", "INFO", _parse_choice("DEBUG", "INFO", "WARNING", "ERROR"),
                              "Minimum level of log records.")
    metrics_enabled: bool = _setting("IDP_METRICS_ENABLED", True, _parse_bool,
                                     "Serve Prometheus metrics at /metrics.")
    metrics_allow: tuple = _setting("IDP_METRICS_ALLOW", (), _parse_networks,
                                    "Comma-separated addresses/CIDRs allowed to read /metrics; empty = anyone "
                                    "(restrict it at the proxy or here).")
    registration_enabled: bool = _setting("IDP_REGISTRATION_ENABLED", True, _parse_bool,
                                          "Serve Dynamic Client Registration (RFC 7591/7592) at /register, "
                                          "gated by initial access tokens.")
    initial_token_ttl: int = _setting("IDP_INITIAL_TOKEN_TTL", 7 * 86400, _parse_positive_int,
                                      "Default lifetime of an initial access token for /register, seconds.")
    login_max_failures: int = _setting("IDP_LOGIN_MAX_FAILURES", 5, _parse_positive_int,
                                       "Failed logins per account before it is locked for a period.")
    login_ip_max_failures: int = _setting("IDP_LOGIN_IP_MAX_FAILURES", 30, _parse_positive_int,
                                          "Failed logins per client IP before it is locked for a period.")
    login_lock_seconds: int = _setting("IDP_LOGIN_LOCK_SECONDS", 900, _parse_positive_int,
                                       "How long an account or IP stays locked.")
    login_slowdown: bool = _setting("IDP_LOGIN_SLOWDOWN", True, _parse_bool,
                                    "Delay responses after repeated failures before locking.")
    device_codes_per_ip: int = _setting("IDP_DEVICE_CODES_PER_IP", 60, _parse_positive_int,
                                        "Device codes (POST /device_authorization, RFC 8628) one client IP "
                                        "address may ask for per 10 minutes; more are answered 429 slow_down "
                                        "with Retry-After. Leave room for a hall of kiosks behind one NAT.")
    device_codes_per_client: int = _setting("IDP_DEVICE_CODES_PER_CLIENT", 600, _parse_positive_int,
                                            "Device codes one client may ask for per 10 minutes, from all "
                                            "addresses together (a fleet of devices shares one client); more "
                                            "are answered 429 slow_down with Retry-After.")
    trusted_proxies: tuple = _setting("IDP_TRUSTED_PROXIES", (), _parse_networks,
                                      "Comma-separated proxy addresses/CIDRs whose forwarding headers "
                                      "(X-Forwarded-For, X-SSL-Client-Cert) are believed.")
    backchannel_timeout: int = _setting("IDP_BACKCHANNEL_TIMEOUT", 5, _parse_positive_int,
                                        "Seconds to wait for a relying party's back-channel logout endpoint.")
    backchannel_retries: int = _setting("IDP_BACKCHANNEL_RETRIES", 3, _parse_positive_int,
                                        "Delivery attempts for a back-channel logout token.")
    default_locale: str = _setting("IDP_DEFAULT_LOCALE", "zh", _parse_choice("zh", "en"),
                                   "Language of pages when the browser expresses no preference.")
    admin_required_acr: str = _setting("IDP_ADMIN_REQUIRED_ACR", "", _parse_choice("", *ACR_LEVELS),
                                       "Least assurance (acr) an administrator's session needs for admin "
                                       "console actions, e.g. urn:idp:loa:2 (a certificate, or a password and "
                                       "a second factor); a weaker session is sent to step up. Empty = any login.")
    require_mfa_for_admins: bool = _setting("IDP_REQUIRE_MFA_FOR_ADMINS", False, _parse_bool,
                                            "Administrators need a second-level session (password and a second "
                                            "factor, or a certificate) for admin console actions; the same as "
                                            "IDP_ADMIN_REQUIRED_ACR=urn:idp:loa:2 unless that asks for more.")
    saml_allowed_hashes: tuple[str, ...] = _setting(
        "IDP_SAML_ALLOWED_HASHES", ("sha256", "sha384", "sha512"), _parse_hashes,
        "Hash functions a signed SAML request from a service provider may use, in its signature method "
        "and its digests (comma-separated: sha1, sha224, sha256, sha384, sha512); others are refused.")
    sms_sender: str = _setting("IDP_SMS_SENDER", "log", _parse_choice("log", "http"),
                               "How SMS one-time codes are sent: log (written to the server log, for the demo) "
                               "or http (posted as JSON {phone, message} to IDP_SMS_HTTP_URL).")
    sms_http_url: str = _setting("IDP_SMS_HTTP_URL", "", str,
                                 "The SMS gateway URL for IDP_SMS_SENDER=http.")
    sms_http_template: str = _setting("IDP_SMS_HTTP_TEMPLATE",
                                      "您的验证码是 {code}，5 分钟内有效。Your verification code is {code}.", str,
                                      "The text of an SMS code message; {code} is replaced by the code.")
    client_cert_header: str = _setting("IDP_CLIENT_CERT_HEADER", "X-SSL-Client-Cert", _parse_header_name,
                                       "Header in which a trusted TLS-terminating proxy forwards the client "
                                       "certificate (URL-encoded PEM, nginx $ssl_client_escaped_cert).")
    trust_profiles_dir: str = _setting("IDP_TRUST_PROFILES_DIR", "certs/profiles", str,
                                       "Directory of CA trust profiles.")
    crl_refresh_seconds: int = _setting("IDP_CRL_REFRESH_SECONDS", 0, _parse_non_negative_int,
                                        "Fetch every configured CRL at start-up and then every this many seconds "
                                        "in a background thread; 0 = only when a certificate login needs one "
                                        "(after the profile's refresh_seconds). One node fetches them from the CAs "
                                        "(the crl.publish job) and stores copies that every node's refresher loads.")
    jobs_enabled: bool = _setting("IDP_JOBS_ENABLED", True, _parse_bool,
                                  "Run the background jobs (audit sealing, back-channel logout retries, CRL fetching, "
                                  "signing-key promotion and retirement) in each server process; one process in the whole "
                                  "deployment runs each job at a time, under a lease in the database.")
    job_lease_seconds: int = _setting("IDP_JOB_LEASE_SECONDS", 30, _parse_positive_int,
                                      "How long a job's lease lasts without renewal: when the node running a job "
                                      "dies, another takes it over within this plus a third of it.")
    audit_seal_seconds: int = _setting("IDP_AUDIT_SEAL_SECONDS", 5, _parse_positive_int,
                                       "Seconds between audit sealing passes (each chains the new records and "
                                       "signs a checkpoint of the chain head).")
    create_schema: bool = _setting("IDP_CREATE_SCHEMA", False, _parse_bool,
                                   "Run database migrations at start-up (development and demo).")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        """Settings from `environ` (default: the process environment) and the IDP_ENV_FILE it names."""
        environ, _sources = layered_environ(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        problems: list[str] = []
        for f in fields(cls):
            meta = f.metadata
            if f.name in overrides:
                values[f.name] = overrides[f.name]
                continue
            raw = environ.get(meta["env"])
            if raw is None or raw == "":
                if meta["required"]:
                    problems.append(f"{meta['env']} is required: {meta['doc']}")
                continue
            try:
                values[f.name] = meta["parse"](raw)
            except ValueError as exc:
                problems.append(f"{meta['env']}={masked(meta['env'], raw)!r} is invalid: {exc}")
        unknown = sorted(k for k in overrides if k not in {f.name for f in fields(cls)})
        problems.extend(f"unknown setting {name!r}" for name in unknown)
        if problems:
            raise ConfigError(problems)
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        problems = []
        if not self.secret_key or len(self.secret_key) < 32:
            problems.append("IDP_SECRET_KEY must be at least 32 characters of random data")
        if not (self.database_url.startswith("sqlite") or self.database_url.startswith("postgresql")):
            problems.append("IDP_DATABASE_URL must be a sqlite:// or postgresql:// URL")
        else:
            try:
                make_url(database_uri(self.database_url))
            except (ValueError, ArgumentError) as exc:
                problems.append(f"IDP_DATABASE_URL={masked('IDP_DATABASE_URL', self.database_url)!r} is invalid: {exc}")
        if self.master_key_file and not os.path.isfile(self.master_key_file):
            problems.append(f"IDP_MASTER_KEY_FILE={self.master_key_file!r} does not exist")
        if self.session_backend == "redis":
            problems.extend(self._redis_problems())
        if self.sms_sender == "http":
            url = urlsplit(self.sms_http_url or "")
            if url.scheme not in {"http", "https"} or not url.netloc:
                problems.append("IDP_SMS_HTTP_URL must be an absolute http(s) URL when IDP_SMS_SENDER=http")
        if "{code}" not in (self.sms_http_template or ""):
            problems.append("IDP_SMS_HTTP_TEMPLATE must contain {code}")
        if problems:
            raise ConfigError(problems)

    def _redis_problems(self) -> list[str]:
        try:
            location = parse_redis_url(self.redis_url)
        except ValueError as exc:  # a value given by override, not read from the environment
            return [f"IDP_REDIS_URL={masked('IDP_REDIS_URL', self.redis_url)!r} is invalid: {exc}"]
        socket_timeout = location.options.get("socket_timeout", REDIS_DEFAULT_OPTIONS["socket_timeout"])
        if self.redis_wait_replicas != 0 and self.redis_wait_timeout_ms >= 1000 * socket_timeout:
            return [f"IDP_REDIS_WAIT_TIMEOUT_MS={self.redis_wait_timeout_ms} must be shorter than the "
                    f"connection's socket_timeout ({socket_timeout} s, in IDP_REDIS_URL), or every wait that "
                    "runs out drops the connection"]
        return []

    @property
    def cookie_secure(self) -> bool:
        """Secure cookies everywhere except plain-http localhost development."""
        return urlsplit(self.issuer).scheme == "https"

    def cookie_name(self, name: str) -> str:
        """``__Host-`` + ``name`` on https: browsers then keep the cookie only when it is Secure, has
        Path=/ and no Domain, so neither a sibling subdomain nor a plain-http page can set or shadow it
        (ASVS 3.4.4). The plain name only on http, which is localhost development."""
        return "__Host-" + name if self.cookie_secure else name

    @staticmethod
    def env_names() -> set[str]:
        return {f.metadata["env"] for f in fields(Settings)}

    @staticmethod
    def documentation() -> list[tuple[str, str, str]]:
        """(variable, default, description) for every setting, for the README and `idp config`."""
        rows = []
        for f in fields(Settings):
            default = "(required)" if f.metadata["required"] else repr(f.default)
            rows.append((f.metadata["env"], default, f.metadata["doc"]))
        return rows


def read_env_file(path: str) -> dict[str, str]:
    """The ``IDP_*`` settings of an env file (``NAME=value`` lines, ``#`` comments, optional quotes and
    ``export``), parsed by python-dotenv. A missing file, or a name that is no setting, is an error."""
    from dotenv import dotenv_values

    if not os.path.isfile(path):
        raise ConfigError(f"{ENV_FILE_VARIABLE}={path!r}: no such file")
    try:
        values = dotenv_values(path, interpolate=False, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{ENV_FILE_VARIABLE}={path!r} cannot be read: {exc}") from None
    known = Settings.env_names()
    unknown = sorted(name for name in values if name not in known)
    if unknown:
        raise ConfigError([f"{ENV_FILE_VARIABLE}={path!r} sets {name}, which is no setting"
                           + (" (the file must not name another settings file)" if name == ENV_FILE_VARIABLE
                              else "") for name in unknown])
    return {name: value for name, value in values.items() if value is not None}


def layered_environ(environ: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(variables in effect, where each came from). The environment wins over the IDP_ENV_FILE file:
    an operator can override one value of a settings file without editing it."""
    merged: dict[str, str] = {}
    sources: dict[str, str] = {}
    path = environ.get(ENV_FILE_VARIABLE)
    if path:
        for name, value in read_env_file(path).items():
            merged[name], sources[name] = value, f"file {path}"
    for name, value in environ.items():
        if value != "" or name not in merged:
            merged[name] = value
            sources[name] = "env"
    return merged, sources


def masked(env_name: str, raw: str | None) -> str | None:
    """`raw` fit to print: secrets hidden, the password of a URL hidden."""
    if raw is None or raw == "":
        return raw
    if env_name in SECRET_SETTINGS:
        return "********"
    if env_name in URL_SETTINGS:
        parts = urlsplit(raw)
        secret_query = any(pair.split("=", 1)[0] in REDIS_SECRET_OPTIONS for pair in parts.query.split("&"))
        if not parts.password and not secret_query:
            return raw
        if parts.password:
            netloc = parts.netloc.rsplit("@", 1)
            user = netloc[0].split(":", 1)[0]
            parts = parts._replace(netloc=f"{user}:********@{netloc[1]}")
        if secret_query:
            parts = parts._replace(query="&".join(
                f"{pair.split('=', 1)[0]}=********" if pair.split("=", 1)[0] in REDIS_SECRET_OPTIONS else pair
                for pair in parts.query.split("&")))
        return parts.geturl()
    return raw


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(str(item) for item in value)
    if isinstance(value, bytes):
        return base64.urlsafe_b64encode(value).decode().rstrip("=")
    return str(value)


def explain(environ: Mapping[str, str] | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """Every setting with the value in effect (masked) and its source: 'env', 'file PATH' or 'default';
    plus the problems that would stop the server (empty when it would start)."""
    environ = os.environ if environ is None else environ
    merged, sources = layered_environ(environ)
    rows = []
    for f in fields(Settings):
        env_name = f.metadata["env"]
        raw = merged.get(env_name)
        if raw is None or raw == "":
            value, source = (None, "missing") if f.metadata["required"] else (_text(f.default), "default")
        else:
            value, source = raw, sources[env_name]
        rows.append({"env": env_name, "value": masked(env_name, value), "source": source,
                     "default": None if f.metadata["required"] else _text(f.default), "doc": f.metadata["doc"]})
    try:
        Settings.from_env(environ)
        problems: list[str] = []
    except ConfigError as exc:
        problems = list(exc.problems)
    return rows, problems


def setting_value(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """One setting as the server reads it (environment, then IDP_ENV_FILE, then the default), for commands
    that need only it (``idp certs status`` needs no secret key)."""
    field_ = next(f for f in fields(Settings) if f.name == name)
    merged, _sources = layered_environ(os.environ if environ is None else environ)
    raw = merged.get(field_.metadata["env"])
    if raw is None or raw == "":
        return field_.default
    try:
        return field_.metadata["parse"](raw)
    except ValueError as exc:
        raise ConfigError(f"{field_.metadata['env']}={masked(field_.metadata['env'], raw)!r} is invalid: {exc}") from None
