"""IDP_DATABASE_URL as SQLAlchemy takes it, including libpq's multi-host form for a primary with standbys.

    postgresql://idp@db1:5432,db2:5432,db3:5432/idp?target_session_attrs=read-write&connect_timeout=3

libpq tries the hosts in order and keeps the first that accepts the connection and, with
``target_session_attrs=read-write``, is not a standby (so after a failover the pool's new connections
reach the promoted server). SQLAlchemy's URL parser reads one host and one port only, so the host list
is moved into repeated ``host=`` query parameters, the form its psycopg dialect hands to libpq.
"""
from __future__ import annotations

import re

_POSTGRES_SCHEMES = ("postgresql://", "postgresql+psycopg://")
_HOST = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[^\[\]:/?#@,]+)(?::(?P<port>[^:]*))?$")


def database_uri(url: str) -> str:
    """The SQLAlchemy URL of IDP_DATABASE_URL; ValueError, saying what is wrong, for a malformed host list."""
    scheme = next((s for s in _POSTGRES_SCHEMES if url.startswith(s)), None)
    if scheme is None:
        return url
    rest = url[len(scheme):]
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    netloc, tail = rest[:cut], rest[cut:]
    userinfo, at, hosts = netloc.rpartition("@")
    if "," not in hosts:
        return "postgresql+psycopg://" + rest
    path, question, query = tail.partition("?")
    host_params = []
    for host in hosts.split(","):
        match = _HOST.match(host)
        if match is None:
            raise ValueError(f"host {host!r} of the host list is not host[:port]")
        port = match.group("port")
        if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
            raise ValueError(f"port {port!r} of host {host!r} is not a port number")
        host_params.append("host=" + host)
    query = "&".join(host_params + ([query] if query else []))
    return f"postgresql+psycopg://{userinfo}{at}{path or '/'}?{query}"
