"""Redis as operators run it, on loopback ports, for tests and benchmarks: one server, Sentinel (a
primary, replicas, three sentinels) and Cluster (three primaries, three replicas).

    with sentinel_topology(tmp_dir) as topo:     # topo.url = "redis+sentinel://127.0.0.1:p,…/idp/0"
        topo.primary.kill()                      # SIGKILL; Sentinel promotes the replica
    with cluster_topology(tmp_dir) as topo:      # topo.url = "redis+cluster://127.0.0.1:p,…"

Every process is started here and stopped when the block ends. ``redis_server_or_skip()`` skips the
calling test, saying why, when redis-server is not installed.

Failure detection takes ``node_timeout_ms`` (default NODE_TIMEOUT_MS, 1 s, so that failover tests are
quick). Topologies that serve tests of what the store does pass PATIENT_NODE_TIMEOUT_MS instead, and
those tests use ``patient_store(topo)``; see there why.
"""
from __future__ import annotations

import contextlib
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

SERVICE = "idp"
NODE_TIMEOUT_MS = 1000  # Sentinel's down-after-milliseconds and Cluster's cluster-node-timeout
# Topologies and stores for tests of what the store does (not of failures): see patient_store.
PATIENT_NODE_TIMEOUT_MS = 60_000
PATIENT_WAIT_MS = 20_000
PATIENT_SOCKET_TIMEOUT_S = 30


def redis_server_or_skip() -> str:
    import pytest

    path = shutil.which("redis-server")
    if path is None or shutil.which("redis-cli") is None:
        pytest.skip("redis-server and redis-cli are not installed (Sentinel and Cluster tests start them)")
    return path


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A free loopback port whose cluster bus port (+10000) is free too."""
    for _ in range(500):
        port = random.randint(20000, 29999)
        if _bindable(port) and _bindable(port + 10000):
            return port
    raise RuntimeError("no free port pair found in 20000-39999")


def wait_until(predicate, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (redis.RedisError, OSError) as exc:
            last = exc
        time.sleep(interval)
    raise TimeoutError(f"{what} not within {timeout} s" + (f" (last error: {last})" if last else ""))


@dataclass
class RedisProcess:
    """One redis-server (or sentinel) process."""

    port: int
    directory: Path
    args: list
    process: subprocess.Popen | None = None

    def start(self) -> "RedisProcess":
        self.directory.mkdir(parents=True, exist_ok=True)
        log = open(self.directory / "out.log", "ab")
        self.process = subprocess.Popen(self.args, cwd=self.directory, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_until(self._answers, 10, f"redis on port {self.port}")
        return self

    def _answers(self) -> bool:
        try:
            return self.client().ping()
        except redis.AuthenticationError:
            return True  # it answers: it asks for the password

    def client(self, **kwargs) -> redis.Redis:
        """A plain client of this one process; it does not retry (the tests see each error as it is)."""
        kwargs.setdefault("retry", Retry(NoBackoff(), 0))
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2, socket_connect_timeout=1,
                           **kwargs)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: the primary vanishes, as when its machine dies."""
        if self.alive:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def freeze(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                self.thaw()
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def server(directory: Path, *extra: str) -> RedisProcess:
    """A started redis-server on a free loopback port, no persistence (the tests are about replicas)."""
    binary = redis_server_or_skip()
    port = free_port()
    node_dir = directory / f"redis-{port}"
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--repl-diskless-sync-delay", "0", "--dir", str(node_dir), *extra]
    return RedisProcess(port, node_dir, args).start()


@dataclass
class Topology:
    url: str
    processes: list = field(default_factory=list)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


@dataclass
class SentinelTopology(Topology):
    primary: RedisProcess | None = None
    replicas: list = field(default_factory=list)
    sentinels: list = field(default_factory=list)

    def current_primary_port(self) -> int | None:
        for sentinel in self.sentinels:
            if sentinel.alive:
                try:
                    address = sentinel.client().sentinel_get_master_addr_by_name(SERVICE)
                    if address:
                        return int(address[1])
                except redis.RedisError:
                    continue
        return None


@dataclass
class ClusterTopology(Topology):
    nodes: list = field(default_factory=list)

    def primary_for(self, key: str) -> RedisProcess:
        """The process serving ``key``'s slot now."""
        client = next(n for n in self.nodes if n.alive).client()
        slot = client.cluster("keyslot", key)
        for start, end, primary, *_ in client.cluster("slots"):
            if start <= slot <= end:
                return next(n for n in self.nodes if n.port == int(primary[1]))
        raise LookupError(f"slot {slot} not served")

    def replica_of(self, primary: RedisProcess) -> RedisProcess:
        """The process replicating ``primary``."""
        port = int(primary.client().info("replication")["slave0"]["port"])
        return next(n for n in self.nodes if n.port == port)


def patient_store(topo: Topology, prefix: str | None = None):
    """A store on ``topo`` whose writes wait for one replica (the default there) for PATIENT_WAIT_MS,
    with PATIENT_SOCKET_TIMEOUT_S for every reply, under a prefix of its own unless one is given.

    On one shared test machine the primary, its replica and the tests compete for the same cores, and a
    node can stall for longer than production's timeouts (a replica confirming a write within 500 ms,
    a reply within 2 s, a primary answering its watchers within 1 s). A stall would then turn a correct
    answer into NotReplicated, a socket timeout or a failover. With these limits, and a topology made
    with PATIENT_NODE_TIMEOUT_MS, a stall delays a test and never changes its outcome. What the store
    does when production's limits run out is tested on purpose (tests/unit/storage/test_redis_failover.py).
    """
    from idp.storage.redis import RedisStore

    store = RedisStore.from_url(f"{topo.url}?socket_timeout={PATIENT_SOCKET_TIMEOUT_S}",
                                prefix=prefix or "idptest:" + secrets.token_hex(6), wait_timeout_ms=PATIENT_WAIT_MS)
    assert store.wait_replicas == 1
    return store


def _replication_up(replica: RedisProcess) -> bool:
    return replica.client().info("replication").get("master_link_status") == "up"


@contextlib.contextmanager
def sentinel_topology(directory: Path, replicas: int = 1, ready_to_fail_over: bool = True,
                      node_timeout_ms: int = NODE_TIMEOUT_MS):
    """A primary, ``replicas`` replicas and three sentinels (quorum 2) watching service ``idp``; a primary
    silent for ``node_timeout_ms`` is failed over.
    ``ready_to_fail_over``: wait until the sentinels know each other and the replicas (their hello
    messages go every 2 s), which a failover needs and serving clients does not."""
    topo = SentinelTopology(url="")
    try:
        topo.primary = server(directory)
        topo.processes.append(topo.primary)
        for _ in range(replicas):
            replica = server(directory, "--replicaof", "127.0.0.1", str(topo.primary.port))
            topo.replicas.append(replica)
            topo.processes.append(replica)
        for replica in topo.replicas:
            wait_until(lambda: _replication_up(replica), 10, "replication")
        for _ in range(3):
            port = free_port()
            sentinel_dir = directory / f"sentinel-{port}"
            sentinel_dir.mkdir(parents=True)
            conf = sentinel_dir / "sentinel.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {sentinel_dir}\n"
                f"sentinel monitor {SERVICE} 127.0.0.1 {topo.primary.port} 2\n"
                f"sentinel down-after-milliseconds {SERVICE} {node_timeout_ms}\n"
                f"sentinel failover-timeout {SERVICE} 5000\n"
                f"sentinel parallel-syncs {SERVICE} 1\n")
            sentinel = RedisProcess(port, sentinel_dir, [redis_server_or_skip(), str(conf), "--sentinel"]).start()
            topo.sentinels.append(sentinel)
            topo.processes.append(sentinel)

        def sentinels_ready():
            for sentinel in topo.sentinels:
                client = sentinel.client()
                if not client.sentinel_get_master_addr_by_name(SERVICE):
                    return False
                if ready_to_fail_over and (len(client.sentinel_sentinels(SERVICE)) < 2
                                           or len(client.sentinel_slaves(SERVICE)) < replicas):
                    return False
            return True

        wait_until(sentinels_ready, 15, "sentinels discovering each other and the replicas", interval=0.2)
        topo.url = ("redis+sentinel://" + ",".join(f"127.0.0.1:{s.port}" for s in topo.sentinels)
                    + f"/{SERVICE}/0")
        yield topo
    finally:
        topo.stop()


@contextlib.contextmanager
def cluster_topology(directory: Path, node_timeout_ms: int = NODE_TIMEOUT_MS):
    """Three primaries with one replica each; a primary silent for ``node_timeout_ms`` is failed over."""
    topo = ClusterTopology(url="")
    try:
        for _ in range(6):
            port_dir = directory / f"cluster-{len(topo.nodes)}"
            node = server(port_dir, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                          "--cluster-node-timeout", str(node_timeout_ms))
            topo.nodes.append(node)
            topo.processes.append(node)
        subprocess.run(["redis-cli", "--cluster", "create", *[f"127.0.0.1:{n.port}" for n in topo.nodes],
                        "--cluster-replicas", "1", "--cluster-yes"],
                       check=True, capture_output=True, timeout=60)

        def cluster_ok():
            for node in topo.nodes:
                info = node.client().cluster("info")
                if info.get("cluster_state") != "ok" or int(info.get("cluster_known_nodes", 0)) < 6:
                    return False
            replicas = [n for n in topo.nodes if n.client().info("replication").get("role") == "slave"]
            return len(replicas) == 3 and all(_replication_up(r) for r in replicas)

        wait_until(cluster_ok, 30, "cluster state ok with three replicas in sync", interval=0.2)
        topo.url = "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in topo.nodes)
        yield topo
    finally:
        topo.stop()
