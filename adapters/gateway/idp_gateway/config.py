"""Gateway settings: a TOML file and/or IDP_GATEWAY_* environment variables (env wins).

Gateway options are listed in `GatewayConfig`; every other key (issuer, client_id, client_secret,
base_url, cookie_domain, cookie_path, scopes, required_acr, session_secret...) is an `RPConfig` option.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from idp_rp import ConfigurationError, RPConfig

ENV_PREFIX = "IDP_GATEWAY_"


@dataclass(frozen=True)
class GatewayConfig:
    rp: RPConfig
    #: Hosts that `rd` may point to: exact names, or ".example.gov.cn" for a domain and its subdomains.
    allowed_hosts: tuple[str, ...] = ()
    #: Send X-Auth-Id-Number (the ID-number claim) to the upstream site. Off unless the site may see it.
    release_id_number: bool = False
    #: Claim holding the citizen ID number.
    id_number_claim: str = "id_number"
    #: Where to go after login when no `rd` was given (path on base_url's host, or allowed URL).
    default_rd: str = "/"
    #: Address the built-in server listens on.
    host: str = "127.0.0.1"
    port: int = 4180
    extra: dict[str, Any] = field(default_factory=dict)


GATEWAY_KEYS = {"allowed_hosts", "release_id_number", "id_number_claim", "default_rd", "host", "port"}
_TRUE = {"1", "true", "yes", "on"}


def load_config(path: str | None = None, environ: Mapping[str, str] | None = None,
                **overrides: Any) -> GatewayConfig:
    data: dict[str, Any] = {}
    if path:
        try:
            with open(path, "rb") as fh:
                data.update(tomllib.load(fh))
        except OSError as exc:
            raise ConfigurationError(f"Cannot read gateway configuration {path}: {exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"Gateway configuration {path} is not valid TOML: {exc}") from exc
    env = os.environ if environ is None else environ
    data.update({k[len(ENV_PREFIX):].lower(): v for k, v in env.items() if k.startswith(ENV_PREFIX)})
    data.update(overrides)
    return config_from_mapping(data)


def config_from_mapping(data: Mapping[str, Any]) -> GatewayConfig:
    data = {k.lower(): v for k, v in data.items()}
    problems = []
    if not data.get("base_url"):
        problems.append("base_url is required: the public URL where the gateway's /login and /callback are "
                        "reachable, e.g. https://legacy.example.gov.cn/oidc")
    if not data.get("session_secret"):
        problems.append("session_secret is required (the gateway's cookie must survive restarts)")
    gw: dict[str, Any] = {}
    for key in GATEWAY_KEYS:
        if key in data and data[key] not in (None, ""):
            gw[key] = data.pop(key)
    hosts = gw.get("allowed_hosts", ())
    if isinstance(hosts, str):
        hosts = [h for h in hosts.replace(",", " ").split() if h]
    gw["allowed_hosts"] = tuple(h.lower() for h in hosts)
    if not gw["allowed_hosts"]:
        problems.append("allowed_hosts is required: the site host names users may be sent back to")
    if isinstance(gw.get("release_id_number"), str):
        gw["release_id_number"] = gw["release_id_number"].lower() in _TRUE
    if "port" in gw:
        try:
            gw["port"] = int(gw["port"])
        except ValueError:
            problems.append(f"port must be a number, got {gw['port']!r}")
    data.setdefault("redirect_path", "/callback")
    data.setdefault("post_logout_redirect_path", "/signed-out")
    try:
        rp = RPConfig.from_mapping(data)
    except ConfigurationError as exc:
        problems.append(str(exc))
        rp = None
    if problems:
        raise ConfigurationError("Invalid gateway configuration: " + "; ".join(problems))
    assert rp is not None
    return GatewayConfig(rp=rp, **gw)
