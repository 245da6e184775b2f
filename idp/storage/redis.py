"""Redis backend: the production home of hot ephemeral state, on one server, Sentinel or Cluster.

Keys are ``<prefix>:<kind>:{<key>}``. The braces are a Redis Cluster hash tag: every record, counter
and set named by the same string lands on one slot whatever its kind, so a session and the sets
named after it (its portals, its CAS tickets) live together, and one person's sessions are one set.
Every call touches one key; the calls that need two steps (a counter and its expiry, a set and its
expiry) are one Lua script, atomic and slot-safe on every topology.

With ``wait_replicas`` = N > 0 each write is followed, on the same connection, by ``WAIT`` for N
replicas, or for all the primary has when it has fewer: a write returns only once it is on them, else
it raises ``NotReplicated`` (a transient failure, answered 503) and the request that made it is not
acknowledged. See README, "Redis deployments", for what a failover can lose with and without it.
"""
from __future__ import annotations

import json
import threading

import redis as redis_lib
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import AskError, RedisClusterException, RedisError
from redis.retry import Retry

from .base import check_names
from .redis_url import CLUSTER, SENTINEL, connect, parse_redis_url

_PREFIX = "idp"
DEFAULT_WAIT_TIMEOUT_MS = 500

# INCR, and start the ttl when the counter is created (NX: a counter never loses its expiry).
_INCR = "local n = redis.call('INCR', KEYS[1]) redis.call('EXPIRE', KEYS[1], ARGV[1], 'NX') return n"
# SADD, and make the set live at least ARGV[1] more seconds (never shorten it).
_INDEX_ADD = ("redis.call('SADD', KEYS[1], ARGV[2]) "
              "local ms = tonumber(ARGV[1]) * 1000 "
              "if redis.call('PTTL', KEYS[1]) < ms then redis.call('PEXPIRE', KEYS[1], ms) end return 1")


class NotReplicated(RedisError):
    """A write reached the primary but not the required replicas in time: a failover now could lose
    it, so it is not acknowledged. Transient: the primary or a replica is failing or lagging."""


def client_retry() -> Retry:
    """At most three quick retries on a dropped connection: a failover is ridden out in about a second
    or answered 503, never a request hanging for many seconds."""
    return Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), 3)


def _ttl(ttl) -> int:
    return max(1, int(ttl))


class RedisStore:
    def __init__(self, client, prefix: str = _PREFIX, *, wait_replicas: int = 0,
                 wait_timeout_ms: int = DEFAULT_WAIT_TIMEOUT_MS):
        if "{" in prefix or "}" in prefix:
            raise ValueError("the key prefix must not contain braces (they are the cluster hash tag)")
        self._client = client
        self._prefix = prefix
        self.wait_replicas = wait_replicas
        self.wait_timeout_ms = wait_timeout_ms

    @classmethod
    def from_url(cls, url: str, prefix: str = _PREFIX, *, wait_replicas: int | None = None,
                 wait_timeout_ms: int = DEFAULT_WAIT_TIMEOUT_MS) -> "RedisStore":
        """The store on the deployment ``url`` names (see idp.storage.redis_url). ``wait_replicas`` None:
        1 on Sentinel and Cluster, 0 on a single server."""
        location = parse_redis_url(url)
        if wait_replicas is None:
            wait_replicas = 1 if location.topology in (SENTINEL, CLUSTER) else 0
        if location.topology == CLUSTER:
            # RedisCluster reads the cluster's layout when created: create it at first use, so that a
            # node starts (and answers 503) while the cluster is unreachable.
            client = _Lazy(lambda: connect(location, retry=client_retry()))
        else:
            client = connect(location, retry=client_retry())
        return cls(client, prefix, wait_replicas=wait_replicas, wait_timeout_ms=wait_timeout_ms)

    @property
    def _r(self):
        client = self._client
        return client.get() if isinstance(client, _Lazy) else client

    @property
    def is_cluster(self) -> bool:
        from redis.cluster import RedisCluster
        return isinstance(self._r, RedisCluster)

    def close(self) -> None:
        self._client.close()

    # --- key names: <prefix>:<kind>:{<name>}, the name is the hash tag -------------------------
    def _k(self, kind, key):
        return f"{self._prefix}:{kind}:{{{key}}}"

    def _ix(self, kind, index):
        return f"{self._prefix}:{kind}:ix:{{{index}}}"

    def _cn(self, kind, key):
        return f"{self._prefix}:{kind}:n:{{{key}}}"

    # --- writes, replicated before they return when wait_replicas > 0 ---------------------------
    def _write(self, name, *command):
        """Run one write ``command`` on the key ``name``; its raw reply once it is on the replicas."""
        if not self.wait_replicas:
            return self._r.execute_command(*command)
        client = self._r
        if self.is_cluster:
            return self._cluster_write(client, name, command)
        return self._replicated(client, command)

    def _replicated(self, client, command):
        """The write, then ROLE, then WAIT on one connection: WAIT counts the replicas holding this
        connection's last write. It waits for ``wait_replicas`` replicas, or for as many as the primary
        has connected when fewer (after a failover, until the former primary rejoins as a replica):
        then an acknowledged write is on every copy there is."""
        pool = client.connection_pool
        conn = pool.get_connection()
        try:
            conn.send_packed_command(conn.pack_commands([command, ("ROLE",)]))
            try:
                result = conn.read_response()
            except redis_lib.ResponseError:
                conn.read_response()  # ROLE's reply, so that the connection stays in step
                raise
            role = conn.read_response()
            replicas = min(self.wait_replicas, len(role[2]) if role and role[0] in (b"master", "master") else 0)
            if replicas:
                conn.send_command("WAIT", replicas, self.wait_timeout_ms)
                acknowledged = int(conn.read_response())
                if acknowledged < replicas:
                    raise NotReplicated(f"the write reached {acknowledged} of {replicas} replica(s) "
                                        f"within {self.wait_timeout_ms} ms")
            return result
        except (redis_lib.ConnectionError, redis_lib.TimeoutError, OSError):
            conn.disconnect()
            raise
        finally:
            pool.release(conn)

    def _cluster_write(self, cluster, name, command):
        # RedisCluster cannot send WAIT after a key's command on the same connection, so the write goes
        # to the primary of the key's slot through that node's own client. A slot that moved (MOVED,
        # ASK: a failover or resharding) or a primary that went away refreshes the layout; MOVED is
        # retried at once (the command was not run), a lost connection is a transient failure.
        for attempt in range(3):
            node = cluster.get_node_from_key(name)
            try:
                return self._replicated(cluster.get_redis_connection(node), command)
            except AskError:  # MovedError is an AskError
                self._refresh(cluster)
                if attempt == 2:
                    raise
            except (redis_lib.ConnectionError, redis_lib.TimeoutError):
                self._refresh(cluster)
                raise

    @staticmethod
    def _refresh(cluster):
        try:
            cluster.nodes_manager.initialize()
        except (RedisError, RedisClusterException):
            pass  # the next call tries again

    def put(self, kind, key, value, ttl):
        check_names(kind, key)
        name = self._k(kind, key)
        self._write(name, "SET", name, json.dumps(value), "EX", _ttl(ttl))

    def get(self, kind, key):
        raw = self._r.get(self._k(kind, key))
        return json.loads(raw) if raw is not None else None

    def delete(self, kind, key):
        name = self._k(kind, key)
        self._write(name, "DEL", name)

    def consume(self, kind, key):
        name = self._k(kind, key)
        raw = self._write(name, "GETDEL", name)
        return json.loads(raw) if raw is not None else None

    def add(self, kind, key, value, ttl):
        check_names(kind, key)
        # the reply: OK (or True through redis-py's reply parser) when set, None when the key existed
        name = self._k(kind, key)
        return bool(self._write(name, "SET", name, json.dumps(value), "EX", _ttl(ttl), "NX"))

    def incr(self, kind, key, ttl):
        check_names(kind, key)
        name = self._cn(kind, key)
        return int(self._write(name, "EVAL", _INCR, 1, name, _ttl(ttl)))

    def reset(self, kind, key):
        name = self._cn(kind, key)
        self._write(name, "DEL", name)

    def index_add(self, kind, index, member, ttl):
        check_names(kind, index, member)
        name = self._ix(kind, index)
        self._write(name, "EVAL", _INDEX_ADD, 1, name, _ttl(ttl), member)

    def index_remove(self, kind, index, member):
        name = self._ix(kind, index)
        self._write(name, "SREM", name, member)

    def index_members(self, kind, index):
        return {m.decode() if isinstance(m, bytes) else m for m in self._r.smembers(self._ix(kind, index))}

    def index_clear(self, kind, index):
        name = self._ix(kind, index)
        self._write(name, "DEL", name)

    def ping(self):
        try:
            return bool(self._r.ping())
        except (RedisError, RedisClusterException):
            return False


class _Lazy:
    """A client made on first use (and again after a failed attempt)."""

    def __init__(self, factory):
        self._factory = factory
        self._client = None
        self._lock = threading.Lock()

    def get(self):
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._factory()
                client = self._client
        return client

    def close(self):
        if self._client is not None:
            self._client.close()
