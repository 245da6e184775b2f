"""Token endpoint and login throughput of 1, 2 and 3 idp nodes behind nginx, on PostgreSQL and Redis.

    .venv/bin/python bench/cluster_throughput.py [--runs 3] [--duration 10] [--nodes 1,2,3]
        [--postgres URL] [--quick] [--profile]

The deployment: a scratch database on the PostgreSQL server (``--postgres``, default the machine's
127.0.0.1:5432; created for the run and dropped after it), a private redis-server on a loopback port
(tests/redis_topology.py), three idp nodes started with the Dockerfile's CMD and ENV (granian,
``GRANIAN_WORKERS=2``, 8 application threads each; tests/helpers.py), and one nginx
in front, round-robin over the first n nodes (tests/nginx_server.py; a configuration reload switches n).
All nodes run for the whole script, idle when not in nginx's upstream.

Pinning (2 cores): node 1 on CPU 0, node 2 on CPU 1, node 3 on either (``taskset -c 0,1``). With one
node the load generator and nginx run on CPU 1; with two or three nodes there is no free core, and
they run on either core, as do PostgreSQL and Redis in every case (they are not pinned).

Workloads, each response checked:

- ``cc``: ``POST /token`` client_credentials (ES256 JWT access token), wrk ``-c16`` with
  bench/wrk/count.lua (every non-200 counted; any stops the script);
- ``rt``: ``POST /token`` refresh_token with rotation, wrk ``-c16`` with bench/wrk/rotate.lua (a pool
  of refresh tokens; every answer must carry the next one);
- ``login``: the login page flow of a browser, ``--login-clients`` threads each with fresh cookies per
  login: ``GET /authorize`` (302 to the login page), the login page (200, its CSRF token and login
  transaction), ``POST /login`` with the ID number and password (302 back to ``/authorize``; anything
  else stops the script). Figures: completed logins per second, p50/p99 of the ``POST /login``.
  The password hashes are argon2id, m=19 MiB, t=2, p=1 (idp/identity/passwords.py).

Runs are interleaved: for each workload, run i loads each node count once, the order rotating.
``--profile`` instead profiles requests in process on the same deployment (``profile_requests``):
where one login and one token request spend their time.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(ROOT.parent / "tests")]

import peer_compare as pc  # noqa: E402  (wrk runs and their checks)
import server_throughput as st  # noqa: E402  (the set-up: schema, keys, person, clients)

WORKLOADS = ("cc", "rt", "login")
WRK_WORKLOAD = {"cc": "cc-es256", "rt": "rt-es256"}
NODE_CPUS = ({0}, {1}, {0, 1})
BOTH = frozenset({0, 1})
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def node_counts(text: str) -> list[int]:
    counts = [int(part) for part in text.split(",")]
    if not counts or any(not 1 <= n <= 3 for n in counts) or len(set(counts)) != len(counts):
        raise argparse.ArgumentTypeError("node counts from 1 to 3, each once, e.g. 1,2,3")
    return counts


def client_cpus(nodes: int) -> frozenset:
    """Where the load generator (and nginx) run: the core left free by one node, otherwise either."""
    return frozenset({1}) if nodes == 1 else BOTH


@dataclass
class Deployment:
    base: str  # the issuer: nginx in front of the nodes in use
    database_url: str
    redis_url: str
    ids: dict
    node_ports: list
    tmp: Path
    settings: object
    nginx_dir: Path = None
    nginx: subprocess.Popen = None
    node_pids: list = field(default_factory=list)
    redis_pid: int = 0
    nodes: int = 0

    def use(self, nodes: int) -> None:
        """Point nginx at the first ``nodes`` nodes (a configuration reload: the new worker inherits the
        master's CPUs, which are the load generator's for that node count)."""
        import requests
        from nginx_server import round_robin_site
        if nodes == self.nodes:
            return
        port = int(self.base.rsplit(":", 1)[1])
        (self.nginx_dir / "idp-site.conf").write_text(round_robin_site(port, self.node_ports[:nodes]))
        os.sched_setaffinity(self.nginx.pid, client_cpus(nodes))
        self.nginx.send_signal(signal.SIGHUP)
        wanted = {f"127.0.0.1:{p}" for p in self.node_ports[:nodes]}
        deadline = time.monotonic() + 20
        while True:  # until the answers come from exactly the nodes in use
            seen = {requests.get(self.base + "/healthz", timeout=5).headers.get("X-Upstream") for _ in range(4 * nodes)}
            children = Path(f"/proc/{self.nginx.pid}/task/{self.nginx.pid}/children").read_text().split()
            if seen == wanted and len(children) == 1:  # the old worker is gone (its CPU time with it)
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"nginx still answers from {seen}, not {wanted}")
            time.sleep(0.2)
        self.nodes = nodes

    def target(self):
        """What peer_compare's wrk runs load: the issuer address."""
        return pc.Idp(f"idp {self.nodes} node(s)", self.database_url, int(self.base.rsplit(":", 1)[1]), self.ids,
                      self.tmp, "granian")


@contextlib.contextmanager
def deployment(postgres_server: str, tmp: Path, node_total: int = 3, populate=None):
    """PostgreSQL (a scratch database), a private Redis, ``node_total`` pinned nodes and nginx in front
    (none without nodes).
    ``populate(app, database_url, ids)`` runs after the set-up, before the nodes start."""
    import helpers
    from nginx_server import nginx_serving, round_robin_site
    from redis_topology import server as redis_server

    with contextlib.ExitStack() as stack:
        database_url = stack.enter_context(st.scratch_postgres(postgres_server))
        redis = redis_server(tmp / "redis")
        stack.callback(redis.stop)
        redis_url = f"redis://127.0.0.1:{redis.port}/0"
        lb_port = helpers.free_port()
        issuer = f"http://127.0.0.1:{lb_port}"
        settings = helpers.make_settings(tmp, issuer=issuer, secret_key=st.SECRET_KEY, database_url=database_url,
                                         session_backend="redis", redis_url=redis_url, code_ttl=3600)
        app, ids = st.prepare(str(tmp), issuer, settings)
        if populate:
            populate(app, database_url, ids)
        with app.app_context():
            from idp.extensions import db
            db.engine.dispose()
        app.extensions["idp"].store.close()

        node_ports = [helpers.free_port() for _ in range(node_total)]
        node_pids = []
        for number, port in enumerate(node_ports):
            command, image_env = helpers.dockerfile_command(port)
            cpus = ",".join(map(str, sorted(NODE_CPUS[number])))
            env = helpers.server_environ(settings, **image_env, IDP_SESSION_BACKEND="redis", IDP_REDIS_URL=redis_url,
                                         IDP_TRUSTED_PROXIES="127.0.0.1", IDP_CODE_TTL="3600")
            node_pids.append(stack.enter_context(helpers.serving(
                ["taskset", "-c", cpus, *command], env, f"http://127.0.0.1:{port}", log=tmp / f"node{number + 1}.log",
                process_group=True)).pid)
        nginx_dir = tmp / "nginx"
        nginx_dir.mkdir()
        nginx = None if not node_ports else stack.enter_context(nginx_serving(
            nginx_dir, round_robin_site(lb_port, node_ports), lb_port, worker_connections=1024))
        yield Deployment(issuer, database_url, redis_url, ids, node_ports, tmp, settings, nginx_dir, nginx, node_pids,
                         redis.process.pid)


@contextlib.contextmanager
def held_lock(path: Path | None, owner: str):
    """Hold the lock file ``path`` (created exclusively, holding ``owner`` and the time) around the
    measured runs, waiting while another benchmark holds it; nothing when ``path`` is None. On a
    machine shared by several benchmarks, only one measures at a time."""
    if path is None:
        yield
        return
    waited = False
    while True:
        try:
            descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            if not waited:
                print(f"waiting for {path} ({path.read_text().strip() if path.exists() else ''})", flush=True)
                waited = True
            time.sleep(5)
    os.write(descriptor, f"{owner} {time.strftime('%H:%M', time.gmtime())}\n".encode())
    os.close(descriptor)
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


# --- the login load -------------------------------------------------------------------------
def login_load(base: str, client_id: str, accounts, clients: int, cpus, *, seconds: float | None = None,
               count: int | None = None) -> tuple[float, list[float]]:
    """``clients`` threads doing whole browser logins (fresh cookies each), for ``seconds`` or until
    ``count`` logins are done; returns (logins per second, seconds of each POST /login). ``accounts``
    is a list of (ID number, password), one drawn at random per login. Any failed step stops the script."""
    import random

    import requests

    durations: list[float] = []
    failures: list[str] = []
    stop_at = time.monotonic() + (seconds if seconds is not None else 3600)
    lock = threading.Lock()
    started_logins = [0]
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)

    def worker():
        rng = random.Random()
        while time.monotonic() < stop_at and not failures:
            with lock:
                if count is not None and started_logins[0] >= count:
                    return
                started_logins[0] += 1
            session = requests.Session()
            session.trust_env = False
            username, password = rng.choice(accounts)
            try:
                elapsed, _ = st.login_http(session, base, client_id, username, password)
            except (SystemExit, requests.RequestException) as exc:
                failures.append(str(exc))
                return
            finally:
                session.close()
            durations.append(elapsed)

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        os.sched_setaffinity(0, before)
    if failures:
        raise SystemExit(f"login run: {failures[0]}")
    return len(durations) / (time.monotonic() - started), durations


def percentiles(seconds: list[float]) -> tuple[float, float]:
    """p50 and p99 in milliseconds (nearest rank)."""
    ordered = sorted(seconds)
    if not ordered:
        raise SystemExit("no request completed")

    def rank(p):
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1000
    return rank(50), rank(99)


# --- where the time goes ------------------------------------------------------------------
SHARES = (("argon2", ("argon2", "_argon2")), ("PostgreSQL driver and wait", ("psycopg",)),
          ("SQLAlchemy", ("sqlalchemy",)), ("Redis client and wait", ("redis",)),
          ("Flask, Werkzeug, Jinja2, WTForms", ("flask", "werkzeug", "jinja2", "wtforms", "markupsafe", "babel")),
          ("Authlib, joserfc", ("authlib", "joserfc")), ("cryptography", ("cryptography",)),
          ("idp", ("idp",)))


def share_of(path: str) -> str:
    parts = Path(path).parts
    for name, packages in SHARES:
        if any(part in packages or part.startswith(tuple(p + "-" for p in packages)) for part in parts):
            return name
    return "other (stdlib, builtins)"


def profile_shares(profiler) -> list[tuple[str, float]]:
    """Self time per share of a cProfile, most first, in seconds; C functions are counted where they
    were called from (argon2's hashing under argon2, a socket wait under its client library)."""
    import pstats
    stats = pstats.Stats(profiler).stats
    totals: dict[str, float] = {}
    for (filename, _, name), (_, _, tottime, _, callers) in stats.items():
        if filename == "~" and callers:  # a builtin: charge its callers' packages, in proportion
            weight = sum(c[2] for c in callers.values()) or 1
            for (cfile, _, _), caller in callers.items():
                totals[share_of(cfile)] = totals.get(share_of(cfile), 0) + tottime * caller[2] / weight
        else:
            totals[share_of(filename)] = totals.get(share_of(filename), 0) + tottime
    return sorted(totals.items(), key=lambda item: -item[1])


def profile_requests(app, ids, count: int) -> None:
    """cProfile of ``count`` logins, client_credentials and refresh requests, in process (the Flask test
    client, the deployment's PostgreSQL and Redis), one at a time; prints each request's mean time and
    its shares."""
    import cProfile
    import gc
    from urllib.parse import urlencode

    portal_id, portal_secret = ids["portal"]
    api = app.test_client()
    browser = app.test_client()
    _, location = st.login_in_process(browser, portal_id)
    st.expect(browser.get(location).status_code, 302, "authorize resume")
    refresh_tokens = []
    for _ in range(count + 1):
        params, verifier = st.auth_params(portal_id, prompt="none")
        code = st.query_of(browser.get("/authorize?" + urlencode(params)).headers["Location"])["code"]
        answer = api.post("/token", headers=st.basic(*ids["portal"]), data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": st.REDIRECT_URI,
            "code_verifier": verifier})
        st.expect(answer.status_code, 200, "code exchange", answer.get_data(as_text=True))
        refresh_tokens.append(answer.get_json()["refresh_token"])

    def cc():
        answer = api.post("/token", headers=st.basic(*ids["batch"]),
                          data={"grant_type": "client_credentials", "scope": "profile"})
        st.expect(answer.status_code, 200, "client_credentials", answer.get_data(as_text=True))

    def rt():
        answer = api.post("/token", headers=st.basic(portal_id, portal_secret),
                          data={"grant_type": "refresh_token", "refresh_token": refresh_tokens.pop()})
        st.expect(answer.status_code, 200, "refresh", answer.get_data(as_text=True))

    def login(profiler=None):
        st.login_in_process(app.test_client(), portal_id, profiler=profiler)

    for name, call, whole in (("POST /login (password, success)", login, False),
                              ("POST /token client_credentials", cc, True), ("POST /token refresh_token", rt, True)):
        call()  # warm
        gc.collect()
        profiler = cProfile.Profile()
        started = time.perf_counter()
        for _ in range(count):
            if whole:
                profiler.enable()
                call()
                profiler.disable()
            else:
                call(profiler)
        elapsed = time.perf_counter() - started
        shares = profile_shares(profiler)
        total = sum(seconds for _, seconds in shares)
        postgres, redis = round_trips(profiler)
        print(f"\n{name}: {1000 * total / count:.2f} ms per request under cProfile ({count} requests one at a "
              f"time{'' if whole else f'; the whole login flow {1000 * elapsed / count:.1f} ms'}); per request "
              f"{postgres / count:.1f} PostgreSQL and {redis / count:.1f} Redis round trips")
        for share, seconds in shares:
            if seconds / total >= 0.005:
                print(f"  {share:<36} {100 * seconds / total:5.1f} %")


ROUND_TRIPS = {"postgres": {("psycopg/cursor.py", "execute"), ("psycopg/cursor.py", "executemany"),
                            ("psycopg/connection.py", "commit"), ("psycopg/connection.py", "rollback")},
               "redis": {("redis/client.py", "_send_command_parse_response"), ("redis/client.py", "_execute_pipeline"),
                         ("redis/client.py", "_execute_transaction")}}


def round_trips(profiler) -> tuple[int, int]:
    """PostgreSQL statements and commits, Redis commands and pipelines: the calls of a profile that each
    wait for one answer from the server."""
    import pstats
    counts = {"postgres": 0, "redis": 0}
    for (filename, _, name), (_, ncalls, *_rest) in pstats.Stats(profiler).stats.items():
        for server, places in ROUND_TRIPS.items():
            if any(filename.endswith(path) and name == function for path, function in places):
                counts[server] += ncalls
    return counts["postgres"], counts["redis"]


# --- main -----------------------------------------------------------------------------------
def add_lock_arguments(parser) -> None:
    parser.add_argument("--lock", type=Path, metavar="FILE",
                        help="hold this lock file during the measured runs, waiting while it exists (a machine "
                        "shared by several benchmarks)")
    parser.add_argument("--lock-owner", default="idp bench", help="what the lock file says")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", metavar="workload", help="any of " + ", ".join(WORKLOADS))
    parser.add_argument("--nodes", type=node_counts, default=[1, 2, 3], help="node counts, e.g. 1,2,3")
    parser.add_argument("--runs", type=int, default=3, help="measured runs per node count and workload")
    parser.add_argument("--duration", type=float, default=10, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of the discarded warm-up run")
    parser.add_argument("--connections", type=int, default=pc.CONNECTIONS, help="wrk connections (token runs)")
    parser.add_argument("--login-clients", type=int, default=8, help="concurrent browsers in the login runs")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, metavar="URL",
                        help="the PostgreSQL server; a scratch database is created there and dropped after")
    add_lock_arguments(parser)
    parser.add_argument("--quick", action="store_true", help="a self-check: one short run of each")
    parser.add_argument("--profile", action="store_true", help="profile requests in process instead")
    parser.add_argument("--profile-count", type=int, default=50, help="requests per kind under --profile")
    args = parser.parse_args(argv)
    args.workloads = args.workloads or list(WORKLOADS)
    unknown = set(args.workloads) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workload(s): {', '.join(sorted(unknown))}")
    if min(args.runs, args.duration, args.connections, args.login_clients, args.profile_count) <= 0:
        parser.error("--runs, --duration, --connections, --login-clients and --profile-count must be positive")
    if args.quick:
        args.runs, args.duration, args.warmup, args.profile_count = 1, 2, 1, 5
    return args


PARTS = ("idp nodes", "PostgreSQL", "Redis", "nginx", "load generator")
OTHERS = "other work (cores)"


def _proc_stat(pid: str) -> tuple[int, int, float] | None:
    """(parent pid, process group, CPU seconds used) of a process, from /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), int(fields[2]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(found: Deployment) -> dict[str, float]:
    """CPU seconds used so far by each part: the nodes (their process groups), the PostgreSQL backends
    connected to the scratch database, the private Redis, nginx (master and workers) and this
    process with its finished children (the browsers' threads, wrk)."""
    import psycopg
    from backends import libpq_url
    with psycopg.connect(libpq_url(found.database_url), autocommit=True) as conn:
        backends = {pid for (pid,) in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")}
    used = dict.fromkeys(PARTS, 0.0)
    for name in os.listdir("/proc"):
        stat = name.isdigit() and _proc_stat(name)
        if not stat:
            continue
        pid, (ppid, group, seconds) = int(name), stat
        if group in found.node_pids:
            used["idp nodes"] += seconds
        elif pid in backends:
            used["PostgreSQL"] += seconds
        elif pid == found.redis_pid:
            used["Redis"] += seconds
        elif found.nginx is not None and found.nginx.pid in (pid, ppid):
            used["nginx"] += seconds
    times = os.times()
    used["load generator"] = times.user + times.system + times.children_user + times.children_system
    used["machine"] = machine_busy_seconds()
    return used


def machine_busy_seconds() -> float:
    """CPU seconds all cores have been busy since boot (/proc/stat: everything but idle and I/O wait)."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def measure(found: Deployment, workload: str, nodes: int, seconds: float, args) -> tuple[pc.WrkRun, dict]:
    """One run: its figures, and the CPU milliseconds each part used per request."""
    found.use(nodes)
    before, started = cpu_seconds(found), time.monotonic()
    if workload == "login":
        rate, durations = login_load(found.base, found.ids["portal"][0], [(st.ID_NUMBER, st.PASSWORD)],
                                     args.login_clients, client_cpus(nodes), seconds=seconds)
        figures = pc.WrkRun(rate, *percentiles(durations))
    else:
        figures = pc.wrk(found.target(), WRK_WORKLOAD[workload], seconds, found.tmp, cpus=client_cpus(nodes),
                         connections=args.connections)
    elapsed = time.monotonic() - started
    requests = figures.rate * elapsed
    after = cpu_seconds(found)
    used = {part: after[part] - before[part] for part in (*PARTS, "machine")}
    cpu = {part: 1000 * used[part] / max(requests, 1) for part in PARTS}
    # the cores that other work on the machine kept busy meanwhile (the shared machine's noise)
    cpu[OTHERS] = max(0.0, used["machine"] - sum(used[part] for part in PARTS)) / elapsed
    return figures, cpu


def main(argv=None) -> None:
    import shutil
    args = parse_args(argv)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    if len(os.sched_getaffinity(0)) < 2:
        raise SystemExit("needs two CPUs to pin the nodes")
    print(f"python {sys.version.split()[0]}; nodes: granian as the Dockerfile runs it, node 1 on CPU 0, node 2 on "
          f"CPU 1, node 3 on either; load on CPU 1 with one node, on either otherwise")
    print("machine: " + st.yardstick(0) + f"; load average {os.getloadavg()[0]:.2f}")
    results: dict[tuple[str, int], list[pc.WrkRun]] = {}
    cpu_use: dict[tuple[str, int], list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        node_total = 0 if args.profile else max(args.nodes)
        counts = sorted(args.nodes)
        with deployment(args.postgres, tmp, node_total) as found:
            if args.profile:
                app = st.create_app(found.settings)
                with held_lock(args.lock, args.lock_owner):
                    profile_requests(app, found.ids, args.profile_count)
                app.extensions["idp"].notifier.wait_idle(5)
                with app.app_context():
                    from idp.extensions import db
                    db.engine.dispose()
                return
            with held_lock(args.lock, args.lock_owner):
                for workload in args.workloads:
                    for nodes in counts:
                        measure(found, workload, nodes, args.warmup, args)
                    for run in range(args.runs):
                        order = counts[run % len(counts):] + counts[:run % len(counts)]
                        for nodes in order:
                            figures, cpu = measure(found, workload, nodes, args.duration, args)
                            results.setdefault((workload, nodes), []).append(figures)
                            cpu_use.setdefault((workload, nodes), []).append(cpu)
                            print(f"{workload:<6} run {run + 1} {nodes} node(s) {figures.rate:9.1f} req/s  "
                                  f"p50 {figures.p50_ms:7.2f} ms  p99 {figures.p99_ms:7.2f} ms  CPU ms per request: "
                                  + ", ".join(f"{part} {ms:.2f}" for part, ms in cpu.items() if part in PARTS)
                                  + f"; {OTHERS} {cpu[OTHERS]:.2f}", flush=True)
    print_table(args, counts, results)
    print_cpu(args, counts, cpu_use)


def print_table(args, counts, results) -> None:
    label = {"cc": "POST /token client_credentials", "rt": "POST /token refresh_token (rotation)",
             "login": "login (page flow; latency of POST /login)"}

    def span(values, fmt):
        low, high = min(values), max(values)
        return fmt.format(low) if len(values) == 1 else (fmt + "–" + fmt).format(low, high)

    print(f"\n{args.runs} interleaved run(s) of {args.duration:g} s; ranges over runs; wrk -c{args.connections} "
          f"for tokens, {args.login_clients} browsers for logins")
    print("| workload | nodes | requests/s | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|")
    for workload in args.workloads:
        for nodes in counts:
            runs = results.get((workload, nodes), [])
            if runs:
                print(f"| {label[workload]} | {nodes} | {span([r.rate for r in runs], '{:,.0f}')} "
                      f"| {span([r.p50_ms for r in runs], '{:.1f}')} | {span([r.p99_ms for r in runs], '{:.1f}')} |")
        medians = {n: statistics.median(r.rate for r in results[(workload, n)]) for n in counts
                   if (workload, n) in results}
        if 1 in medians and len(medians) > 1:
            print("|  | scaling | " + ", ".join(f"{n} nodes ×{medians[n] / medians[1]:.2f}" for n in medians if n > 1)
                  + " |  |  |")


def print_cpu(args, counts, cpu_use) -> None:
    print("\nCPU milliseconds per request by part, median over runs (the PostgreSQL backends of this database; "
          "the load generator includes wrk or the browsers), and how many of the cores other work on the machine "
          "kept busy during the runs")
    columns = (*PARTS, OTHERS)
    print("| workload | nodes | " + " | ".join(columns) + " |")
    print("|---|---:|" + "---:|" * len(columns))
    for workload in args.workloads:
        for nodes in counts:
            runs = cpu_use.get((workload, nodes))
            if runs:
                print(f"| {workload} | {nodes} | "
                      + " | ".join(f"{statistics.median(r[part] for r in runs):.2f}" for part in columns) + " |")


if __name__ == "__main__":
    main()
