"""``IDP_REDIS_URL``: which Redis deployment to use, and redis-py's own client for it.

    redis://[[user]:password@]host[:port][/db][?options]          one server (rediss:// for TLS)
    unix://[[user]:password@]/path/to/redis.sock[?db=N&options]   one server on a Unix socket
    redis+sentinel://[[user]:password@]host:port[,host:port...]/service[/db][?options]
    redis+cluster://[[user]:password@]host:port[,host:port...][?options]

``rediss+sentinel://`` and ``rediss+cluster://`` speak TLS to every Redis and Sentinel. The user and
password are those of the Redis servers; Sentinels take ``sentinel_username`` / ``sentinel_password``
from the query. Options: ``socket_timeout`` and ``socket_connect_timeout`` (seconds), on TLS URLs
``ssl_ca_certs``, ``ssl_certfile``, ``ssl_keyfile`` and ``ssl_cert_reqs`` (none, optional, required).
Sentinel ports default to 26379, others to 6379. Percent-encode ``@ : / , ?`` in passwords.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

SERVER, SENTINEL, CLUSTER = "server", "sentinel", "cluster"
_SCHEMES = {
    "redis": (SERVER, False), "rediss": (SERVER, True), "unix": (SERVER, False),
    "redis+sentinel": (SENTINEL, False), "rediss+sentinel": (SENTINEL, True),
    "redis+cluster": (CLUSTER, False), "rediss+cluster": (CLUSTER, True),
}
_DEFAULT_PORT = {SENTINEL: 26379, CLUSTER: 6379, SERVER: 6379}
_TIMEOUTS = ("socket_timeout", "socket_connect_timeout")
_TLS_OPTIONS = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_cert_reqs")
_SENTINEL_OPTIONS = ("sentinel_username", "sentinel_password")
#: Options whose values are secrets (masked when settings are shown).
SECRET_OPTIONS = frozenset({"sentinel_password"})
SYNTAX = ("redis://[:password@]host:port/db, rediss://…, unix:///path.sock, "
          "redis+sentinel://[:password@]host:port[,host:port…]/service[/db] or "
          "redis+cluster://[:password@]host:port[,host:port…]")

#: Client-side defaults: a request fails over to 503 in about a second rather than hanging.
DEFAULT_OPTIONS = {"socket_timeout": 2.0, "socket_connect_timeout": 2.0}


@dataclass(frozen=True)
class RedisLocation:
    """A parsed ``IDP_REDIS_URL``."""

    topology: str  # SERVER, SENTINEL or CLUSTER
    url: str
    tls: bool = False
    nodes: tuple[tuple[str, int], ...] = ()  # Sentinels, or the cluster's startup nodes
    service_name: str | None = None
    db: int = 0
    username: str | None = None
    password: str | None = None
    options: dict = field(default_factory=dict)


def _port(text: str, default: int, where: str) -> int:
    if text == "":
        return default
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{where}: the port must be a number from 1 to 65535")
    return int(text)


def _hosts(hostlist: str, default_port: int) -> tuple[tuple[str, int], ...]:
    nodes = []
    for item in hostlist.split(","):
        item = item.strip()
        if not item:
            raise ValueError("lists an empty host (hosts are host:port, separated by commas)")
        if item.startswith("["):
            host, sep, rest = item[1:].partition("]")
            if not sep or (rest and not rest.startswith(":")):
                raise ValueError(f"host {item!r}: an IPv6 address is written [address]:port")
            port = _port(rest[1:], default_port, f"host {item!r}")
        else:
            if item.count(":") > 1:
                raise ValueError(f"host {item!r}: write an IPv6 address in brackets, [address]:port")
            host, _, port_text = item.partition(":")
            port = _port(port_text, default_port, f"host {item!r}")
        if not host:
            raise ValueError(f"host {item!r} has no name or address")
        nodes.append((host, port))
    return tuple(nodes)


def _options(query: str, allowed: tuple[str, ...]) -> dict:
    options = {}
    try:
        values = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise ValueError("the query must be name=value pairs separated by &") from None
    for name, given in values.items():
        if name not in allowed:
            raise ValueError(f"unknown option {name!r} (known: {', '.join(allowed)})")
        if len(given) > 1:
            raise ValueError(f"option {name!r} is given more than once")
        value = given[0]
        if name in _TIMEOUTS:
            try:
                options[name] = float(value)
            except ValueError:
                raise ValueError(f"option {name!r} must be a number of seconds") from None
            if not options[name] > 0:
                raise ValueError(f"option {name!r} must be a positive number of seconds")
        elif name == "ssl_cert_reqs":
            if value not in ("none", "optional", "required"):
                raise ValueError("option 'ssl_cert_reqs' must be none, optional or required")
            options[name] = value
        elif name == "db":
            if not value.isdigit():
                raise ValueError("option 'db' must be a database number")
            options[name] = int(value)
        else:
            options[name] = value
    return options


def parse_redis_url(url: str) -> RedisLocation:
    """The deployment ``url`` names; ValueError saying what is wrong (the message never repeats a password)."""
    scheme, sep, _ = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in _SCHEMES:
        raise ValueError(f"must be one of {SYNTAX}")
    topology, tls = _SCHEMES[scheme]
    parts = urlsplit(url)
    if parts.fragment:
        raise ValueError("must not contain a #fragment")
    allowed = _TIMEOUTS + (_TLS_OPTIONS if tls else ())
    if topology == SERVER:
        allowed += ("db",)
        options = _options(parts.query, allowed)
        if scheme != "unix":
            if not parts.hostname:
                raise ValueError(f"{scheme}:// needs a host: {scheme}://host:port/db")
            try:
                parts.port
            except ValueError:
                raise ValueError("the port must be a number from 1 to 65535") from None
            path = parts.path.strip("/")
            if path and not path.isdigit():
                raise ValueError(f"the path must be a database number, as in {scheme}://host:6379/0")
        elif not parts.path:
            raise ValueError("unix:// needs the socket's path: unix:///run/redis/redis.sock")
        return RedisLocation(SERVER, url, tls, options=options,
                             password=unquote(parts.password) if parts.password else None)
    if topology == SENTINEL:
        allowed += _SENTINEL_OPTIONS
    options = _options(parts.query, allowed)
    userinfo, at, hostlist = parts.netloc.rpartition("@")
    if not hostlist:
        raise ValueError(f"{scheme}:// needs at least one host: {scheme}://host:port,host:port…")
    nodes = _hosts(hostlist, _DEFAULT_PORT[topology])
    username = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon and secret else None
    segments = [unquote(s) for s in parts.path.split("/")[1:]] if parts.path else []
    service_name, db = None, 0
    if topology == SENTINEL:
        if not segments or not segments[0]:
            raise ValueError(f"{scheme}:// needs the monitored service's name: {scheme}://host:26379/mymaster[/db]")
        service_name = segments[0]
        rest = [s for s in segments[1:] if s]
        if len(rest) > 1 or (rest and not rest[0].isdigit()):
            raise ValueError(f"after the service name only a database number may follow: "
                             f"{scheme}://host:26379/{service_name}/0")
        db = int(rest[0]) if rest else 0
    elif any(s not in ("", "0") for s in segments):
        raise ValueError("Redis Cluster has only database 0: write no path after the hosts")
    return RedisLocation(topology, url, tls, nodes, service_name, db, username, password, options)


def _tls_kwargs(location: RedisLocation) -> dict:
    if not location.tls:
        return {}
    kwargs = {"ssl": True}
    kwargs.update({k: v for k, v in location.options.items() if k in _TLS_OPTIONS})
    return kwargs


def connect(location: RedisLocation, retry=None):
    """redis-py's client for the deployment: ``Redis``, Sentinel's ``master_for`` or ``RedisCluster``."""
    import redis
    from redis.cluster import ClusterNode, RedisCluster
    from redis.sentinel import Sentinel

    timeouts = dict(DEFAULT_OPTIONS)
    timeouts.update({k: v for k, v in location.options.items() if k in _TIMEOUTS})
    common = dict(timeouts)
    if retry is not None:
        common["retry"] = retry
    if location.topology == SERVER:
        return redis.Redis.from_url(location.url, **common)
    auth = {"username": location.username, "password": location.password}
    if location.topology == SENTINEL:
        sentinel_kwargs = dict(timeouts, **_tls_kwargs(location))
        if location.options.get("sentinel_username"):
            sentinel_kwargs["username"] = location.options["sentinel_username"]
        if location.options.get("sentinel_password"):
            sentinel_kwargs["password"] = location.options["sentinel_password"]
        sentinel = Sentinel(list(location.nodes), sentinel_kwargs=sentinel_kwargs,
                            **common, **_tls_kwargs(location), **auth)
        return sentinel.master_for(location.service_name, db=location.db)
    return RedisCluster(startup_nodes=[ClusterNode(host, port) for host, port in location.nodes],
                        **common, **_tls_kwargs(location), **auth)
