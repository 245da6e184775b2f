"""The replicated stores the tests of this directory run on (redis_topology.patient_store, on the session's
Sentinel and Cluster topologies) answer by what the store does, not by how busy the test machine is: a
replica or a primary that stalls for longer than production's timeouts delays the answer and never
changes it, and nothing fails over. Each stall is made here on purpose (SIGSTOP, then SIGCONT), so
what a loaded machine does now and then happens on every run.
"""
from __future__ import annotations

import contextlib
import threading

import pytest

from idp.storage.redis import DEFAULT_WAIT_TIMEOUT_MS
from idp.storage.redis_url import DEFAULT_OPTIONS
from redis_topology import NODE_TIMEOUT_MS, ClusterTopology, patient_store

pytestmark = pytest.mark.redis

# Longer than production's wait for a replica (0.5 s), its socket timeout (2 s) and its failure
# detection in the failover tests (1 s).
STALL_SECONDS = max(DEFAULT_WAIT_TIMEOUT_MS / 1000, DEFAULT_OPTIONS["socket_timeout"], NODE_TIMEOUT_MS / 1000) + 0.5
KIND = "stall"


@pytest.fixture(params=["redis_sentinel", "redis_cluster"])
def topology_and_store(request):
    topology = request.getfixturevalue(request.param)
    store = patient_store(topology)
    yield topology, store
    store.close()


def _primary_and_replica(topology, store, key):
    """The processes holding ``key``: its primary and that primary's replica."""
    if isinstance(topology, ClusterTopology):
        primary = topology.primary_for(store._k(KIND, key))
        return primary, topology.replica_of(primary)
    assert topology.current_primary_port() == topology.primary.port
    return topology.primary, topology.replicas[0]


def _on_replica(topology, replica, name) -> bool:
    client = replica.client(single_connection_client=True)
    try:
        if isinstance(topology, ClusterTopology):
            client.execute_command("READONLY")  # a cluster replica answers for its primary's slots
        return client.get(name) is not None
    finally:
        client.close()


@contextlib.contextmanager
def stalled(process):
    """``process`` stops for STALL_SECONDS, counted from now, whatever the block does meanwhile."""
    process.freeze()
    timer = threading.Timer(STALL_SECONDS, process.thaw)
    timer.start()
    try:
        yield
    finally:
        timer.join()
        process.thaw()


def test_a_stalled_replica_delays_a_write_and_does_not_fail_it(topology_and_store):
    topology, store = topology_and_store
    primary, replica = _primary_and_replica(topology, store, "r")
    with stalled(replica):
        store.put(KIND, "r", {"v": 1}, 600)  # waits for the replica, which answers once it runs again
        assert store.add(KIND, "r", {"v": 2}, 600) is False
        assert store.incr(KIND, "r", 600) == 1
    assert store.get(KIND, "r") == {"v": 1}
    assert _on_replica(topology, replica, store._k(KIND, "r"))
    assert _primary_and_replica(topology, store, "r") == (primary, replica)


def test_a_stalled_primary_delays_an_answer_and_is_not_failed_over(topology_and_store):
    topology, store = topology_and_store
    primary, replica = _primary_and_replica(topology, store, "p")
    store.put(KIND, "p", {"v": 1}, 600)
    with stalled(primary):
        assert store.consume(KIND, "p") == {"v": 1}
    assert store.get(KIND, "p") is None
    assert primary.client().info("replication")["role"] == "master"
    assert _primary_and_replica(topology, store, "p") == (primary, replica)
