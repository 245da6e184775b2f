"""What waiting for a replica (Redis WAIT, IDP_REDIS_WAIT_REPLICAS) costs a session write.

    .venv/bin/python bench/redis_wait.py [--writes 3000] [--threads 1,8]

Starts, on loopback ports, a Sentinel deployment (a primary, one replica, three sentinels) and a
Cluster (three primaries, three replicas), and times ``RedisStore.put`` of a session-sized record
(about 400 bytes) with ``wait_replicas`` 0 and 1 from 1 and 8 threads: writes per second and
p50 / p99 milliseconds per write. Needs redis-server and redis-cli.
"""
from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from idp.storage.redis import RedisStore  # noqa: E402
from redis_topology import cluster_topology, sentinel_topology  # noqa: E402

RECORD = {"person_id": 123456, "acr": "urn:idp:loa:1", "amr": ["pwd"], "auth_time": 1_780_000_000,
          "created_at": 1_780_000_000.5, "ip": "203.0.113.7", "ua": "x" * 200, "clients": []}


def run(store: RedisStore, writes: int, threads: int) -> tuple[float, float, float]:
    per_thread = writes // threads
    latencies: list[list[float]] = [[] for _ in range(threads)]
    barrier = threading.Barrier(threads + 1)

    def worker(n: int):
        own = latencies[n]
        barrier.wait()
        for i in range(per_thread):
            started = time.perf_counter()
            store.put("sso", f"{n}-{i}-{secrets.token_hex(4)}", RECORD, 600)
            own.append(time.perf_counter() - started)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    flat = sorted(x for own in latencies for x in own)
    p99 = flat[min(len(flat) - 1, int(len(flat) * 0.99))]
    return len(flat) / elapsed, 1000 * statistics.median(flat), 1000 * p99


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writes", type=int, default=3000)
    parser.add_argument("--threads", default="1,8")
    args = parser.parse_args()
    thread_counts = [int(x) for x in args.threads.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        for name, topology in (("Sentinel, 1 replica", sentinel_topology), ("Cluster, 3x(1+1)", cluster_topology)):
            kwargs = {"ready_to_fail_over": False} if topology is sentinel_topology else {}
            with topology(Path(tmp) / name.split(",")[0], **kwargs) as topo:
                print(f"\n{name}")
                print(f"{'wait':>6} {'threads':>8} {'writes/s':>10} {'p50 ms':>8} {'p99 ms':>8}")
                for wait in (0, 1):
                    store = RedisStore.from_url(topo.url, prefix=f"bench{wait}", wait_replicas=wait)
                    run(store, 300, 1)  # warm the connections
                    for threads in thread_counts:
                        rate, p50, p99 = run(store, args.writes, threads)
                        print(f"{wait:>6} {threads:>8} {rate:>10.0f} {p50:>8.2f} {p99:>8.2f}")
                    store.close()


if __name__ == "__main__":
    main()
