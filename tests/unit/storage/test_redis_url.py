"""IDP_REDIS_URL: one server, Sentinel or Cluster; every malformed URL is refused at start-up with a
message naming the problem (and never the password)."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idp.config import Settings, masked
from idp.errors import ConfigError
from idp.storage.redis import RedisStore
from idp.storage.redis_url import CLUSTER, SENTINEL, SERVER, connect, parse_redis_url
from idp.storage.transient import is_transient

SECRET = "s" * 40


def test_a_single_server():
    location = parse_redis_url("redis://:pw@10.0.0.5:6380/2?socket_timeout=0.5")
    assert (location.topology, location.tls, location.password) == (SERVER, False, "pw")
    client = connect(location)
    kwargs = client.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"], kwargs["socket_timeout"]) == ("10.0.0.5", 6380, 2, 0.5)
    assert parse_redis_url("rediss://redis.example:6379/0").tls is True
    assert parse_redis_url("unix:///run/redis.sock?db=3").topology == SERVER


def test_sentinel_hosts_service_database_and_sentinel_password():
    location = parse_redis_url("redis+sentinel://app:p%40ss%2C1@s1.example:26380,[fd00::7],10.0.0.9/idp-main/4"
                               "?sentinel_password=sp&socket_connect_timeout=1.5")
    assert location.topology == SENTINEL
    assert location.nodes == (("s1.example", 26380), ("fd00::7", 26379), ("10.0.0.9", 26379))
    assert (location.service_name, location.db) == ("idp-main", 4)
    assert (location.username, location.password) == ("app", "p@ss,1")
    client = connect(location)
    pool = client.connection_pool
    assert pool.service_name == "idp-main"
    assert (pool.connection_kwargs["db"], pool.connection_kwargs["password"]) == (4, "p@ss,1")
    sentinel = pool.sentinel_manager.sentinels[0]
    assert sentinel.connection_pool.connection_kwargs["password"] == "sp"
    assert sentinel.connection_pool.connection_kwargs["socket_connect_timeout"] == 1.5


def test_cluster_startup_nodes():
    location = parse_redis_url("rediss+cluster://:pw@n1:7000,n2:7001,n3?ssl_cert_reqs=none")
    assert location.topology == CLUSTER and location.tls
    assert location.nodes == (("n1", 7000), ("n2", 7001), ("n3", 6379))
    assert location.options == {"ssl_cert_reqs": "none"}


@pytest.mark.parametrize("url, says", [
    ("http://redis:6379", "must be one of"),
    ("redis+sentinal://h:26379/m", "must be one of"),
    ("redis+sentinel://h1:26379,h2:26379", "service's name"),
    ("redis+sentinel://h1:26379/m/x", "database number"),
    ("redis+sentinel://h1:26379/m/0/1", "database number"),
    ("redis+sentinel:///m", "at least one host"),
    ("redis+sentinel://h1:26379,,h2/m", "empty host"),
    ("redis+cluster://h1:7000/1", "only database 0"),
    ("redis+cluster://h1:70000", "1 to 65535"),
    ("redis+cluster://h1:port", "1 to 65535"),
    ("redis+cluster://fd00::1:7000", "IPv6"),
    ("redis+cluster://[fd00::1]7000", "IPv6"),
    ("redis+cluster://h1?ssl_ca_certs=/ca.pem", "unknown option 'ssl_ca_certs'"),
    ("redis+cluster://h1?sentinel_password=x", "unknown option"),
    ("redis+cluster://h1?socket_timeout=0", "positive"),
    ("redis+cluster://h1?socket_timeout=soon", "seconds"),
    ("redis+cluster://h1?socket_timeout=1&socket_timeout=2", "more than once"),
    ("redis://redis:6379/zero", "database number"),
    ("redis://:6379/0", "needs a host"),
    ("redis://h:99999/0", "1 to 65535"),
    ("redis://h/0?retry=1", "unknown option 'retry'"),
    ("redis://h/0#x", "fragment"),
    ("unix://", "socket's path"),
])
def test_malformed_urls_are_refused_with_the_reason(url, says):
    with pytest.raises(ValueError) as info:
        parse_redis_url(url)
    assert says in str(info.value)


def test_start_up_names_a_bad_redis_url_and_hides_its_password():
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"IDP_SECRET_KEY": SECRET, "IDP_REDIS_URL": "redis+sentinel://:hunter2@h1:26379"})
    [problem] = info.value.problems
    assert problem.startswith("IDP_REDIS_URL=") and "service's name" in problem
    assert "hunter2" not in problem and "********" in problem


def test_wait_settings():
    settings = Settings.from_env({"IDP_SECRET_KEY": SECRET})
    assert (settings.redis_wait_replicas, settings.redis_wait_timeout_ms) == (None, 500)
    settings = Settings.from_env({"IDP_SECRET_KEY": SECRET, "IDP_REDIS_WAIT_REPLICAS": "2",
                                  "IDP_REDIS_WAIT_TIMEOUT_MS": "100"})
    assert (settings.redis_wait_replicas, settings.redis_wait_timeout_ms) == (2, 100)
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"IDP_SECRET_KEY": SECRET, "IDP_REDIS_WAIT_REPLICAS": "-1",
                           "IDP_REDIS_WAIT_TIMEOUT_MS": "0"})
    assert [p.split("=")[0] for p in info.value.problems] == ["IDP_REDIS_WAIT_REPLICAS", "IDP_REDIS_WAIT_TIMEOUT_MS"]


def test_a_wait_longer_than_the_socket_timeout_is_refused():
    base = {"IDP_SECRET_KEY": SECRET, "IDP_SESSION_BACKEND": "redis"}
    with pytest.raises(ConfigError) as info:
        Settings.from_env({**base, "IDP_REDIS_WAIT_TIMEOUT_MS": "2000"})
    assert info.value.problems[0].startswith("IDP_REDIS_WAIT_TIMEOUT_MS=2000 must be shorter")
    Settings.from_env({**base, "IDP_REDIS_WAIT_TIMEOUT_MS": "2000",
                       "IDP_REDIS_URL": "redis+sentinel://h:26379/idp?socket_timeout=5"})
    Settings.from_env({**base, "IDP_REDIS_WAIT_TIMEOUT_MS": "2000", "IDP_REDIS_WAIT_REPLICAS": "0"})
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"IDP_SECRET_KEY": SECRET}, session_backend="redis", redis_url="redis+cluster://h/3")
    assert "only database 0" in info.value.problems[0]


def test_the_wait_defaults_to_one_replica_on_sentinel_and_cluster_and_none_on_one_server():
    assert RedisStore.from_url("redis://127.0.0.1:1/0").wait_replicas == 0
    assert RedisStore.from_url("redis+sentinel://127.0.0.1:1/idp").wait_replicas == 1
    assert RedisStore.from_url("redis+cluster://127.0.0.1:1").wait_replicas == 1
    assert RedisStore.from_url("redis+sentinel://127.0.0.1:1/idp", wait_replicas=0).wait_replicas == 0


def test_sentinel_passwords_are_masked_when_settings_are_shown():
    shown = masked("IDP_REDIS_URL", "redis+sentinel://:pw@h1:26379,h2:26379/idp/0?sentinel_password=sp&socket_timeout=1")
    assert shown == "redis+sentinel://:********@h1:26379,h2:26379/idp/0?sentinel_password=********&socket_timeout=1"
    assert masked("IDP_REDIS_URL", "redis://h:6379/0") == "redis://h:6379/0"


def test_unreachable_deployments_are_transient_failures_not_crashes():
    """A node starts while Redis is away; each call then fails as transient (503) and ping says no."""
    for url in ("redis+cluster://127.0.0.1:1", "redis+sentinel://127.0.0.1:1/idp", "redis://127.0.0.1:1/0"):
        store = RedisStore.from_url(url + "?socket_connect_timeout=0.5")
        with pytest.raises(Exception) as info:
            store.get("k", "a")
        assert is_transient(info.value), (url, info.value)
        with pytest.raises(Exception) as info:
            store.put("k", "a", {}, 60)
        assert is_transient(info.value), (url, info.value)
        assert store.ping() is False
        store.close()


_host = st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,10}){0,2}", fullmatch=True)
_port = st.integers(min_value=1, max_value=65535)


@given(st.lists(st.tuples(_host, _port), min_size=1, max_size=5), st.text(min_size=1, max_size=20),
       st.integers(min_value=0, max_value=15))
def test_sentinel_urls_round_trip(nodes, service, db):
    from urllib.parse import quote
    url = ("redis+sentinel://" + ",".join(f"{h}:{p}" for h, p in nodes) + "/" + quote(service, safe="")
           + f"/{db}")
    location = parse_redis_url(url)
    assert location.nodes == tuple(nodes)
    assert (location.service_name, location.db) == (service, db)


@given(st.text(max_size=80))
def test_any_text_is_parsed_or_refused_with_a_value_error(text):
    for url in (text, "redis+sentinel://" + text, "redis+cluster://" + text, "redis://" + text):
        try:
            parse_redis_url(url)
        except ValueError as exc:
            assert str(exc)

