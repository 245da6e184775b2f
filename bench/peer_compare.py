"""idp beside node oidc-provider on one core each: token, JWKS and discovery throughput and the ratios.

    .venv/bin/python bench/peer_compare.py [--runs 3] [--duration 15] [--postgres URL] [workload ...]

The peer is the yardstick of ``../shared/peer-bench`` (its README): oidc-provider 9.13.3 with its
in-memory adapter, started with ``NODE_ENV=production`` and refresh-token rotation on
(``PEER_ROTATE_RT=1``, as idp always rotates). The script copies that folder to a writable place
(``--peer-work``) and runs ``npm ci`` there once; nothing of the peer is part of this project.

idp runs as the Dockerfile runs it (granian, 8 application threads, access log on), one worker process
since it has one core, on SQLite (a file in a temporary directory) and, with ``--postgres``, on a
scratch database of that PostgreSQL server. ``--server gunicorn`` runs the former entry point
(gunicorn, gthread worker, 8 threads), ``--server gunicorn,granian`` both side by side (the commands
in ``server_command``).

Every server is pinned to CPU 0 and wrk (``-t1 -c16``, ``--latency``) to CPU 1. For each workload
every server is started fresh, warmed up (``--warmup`` seconds, discarded), then the measured runs are
interleaved: run i loads each server once, the order rotating, so the machine's noise hits all of
them alike. wrk's Lua scripts (bench/wrk/) count every response that is not a 200; a run with any
such response, socket error or timeout stops the script. Refresh-token rotation uses a pool of 32
refresh tokens per server, fresh before every run; each answer's new refresh token goes back into
the pool, so every request presents a token never used before.

Workloads: discovery, jwks, healthz (idp only), cc-es256 and cc-rs256 (client_credentials with a JWT
access token signed ES256 / RS256), rt-es256 (refresh_token with rotation, ES256 JWT access token).

``--floor`` adds a third kind of server, "Python floor": ``bench/floor_app.py``, a yardstick that does only
what every idp token request does (raw WSGI, Basic client authentication, the signed JWT, the token's hash
and an audit row in one SQLite commit), on granian with idp's flags. It answers the token workloads and
healthz (a constant 200: granian's own floor), not JWKS or discovery. The table then adds the ratios
floor/peer and idp/floor.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

import server_throughput as st  # noqa: E402  (the bench set-up: database, person, clients)

WRK_DIR = ROOT / "wrk"
SERVER_CPU, CLIENT_CPU = 0, 1
CONNECTIONS = 16
POOL = 32
WORKLOADS = ("discovery", "jwks", "healthz", "cc-es256", "cc-rs256", "rt-es256")
PEER_RESOURCE = {"cc-es256": "https://api.bench/jwt-es256", "cc-rs256": "https://api.bench/jwt-rs256",
                 "rt-es256": "https://api.bench/jwt-es256"}
IDP_ALG = {"cc-rs256": "RS256"}  # every other workload: ES256, idp's default access-token algorithm


def basic_value(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pinned(cpu: int):
    return lambda: os.sched_setaffinity(0, {cpu})


def wait_http(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    import requests
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url}: the server exited with status {process.returncode}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url}: no answer within {timeout} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- the peer -----------------------------------------------------------------------------
class Peer:
    name = "oidc-provider"

    def __init__(self, work: Path, port: int, log_dir: Path):
        self.work, self.port, self.log_dir = work, port, log_dir
        self.base = f"http://127.0.0.1:{port}"
        self.auth = self.rt_auth = basic_value("bench", "bench-secret")
        self.process = None

    @staticmethod
    def install(source: Path, work: Path) -> Path:
        """A writable copy of the peer-bench folder with its node modules (``npm ci`` once)."""
        if not (source / "server.mjs").exists():
            raise SystemExit(f"{source}: no peer-bench folder there (give --peer-src)")
        if not (work / "node_modules" / "oidc-provider").exists():
            shutil.copytree(source, work, dirs_exist_ok=True, ignore=shutil.ignore_patterns("node_modules", "results"))
            for path in [work, *work.rglob("*")]:
                path.chmod(path.stat().st_mode | 0o200)
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=work, check=True,
                           stdout=subprocess.DEVNULL)
        return work

    def start(self, workload: str) -> None:
        env = dict(os.environ, NODE_ENV="production", PEER_PORT=str(self.port), PEER_ROTATE_RT="1",
                   PEER_NO_PIDFILE="1")
        log = open(self.log_dir / f"peer-{workload}.log", "ab")
        self.process = subprocess.Popen(["node", "server.mjs"], cwd=self.work, env=env, stdout=log,
                                        stderr=subprocess.STDOUT, preexec_fn=pinned(SERVER_CPU))
        wait_http(self.base + "/.well-known/openid-configuration", self.process)

    def stop(self) -> None:
        if self.process:
            stop(self.process)
            self.process = None

    def path(self, workload: str) -> str | None:
        return {"discovery": "/.well-known/openid-configuration", "jwks": "/jwks", "healthz": None}.get(
            workload, "/token")

    def cc_body(self, workload: str) -> str:
        return urlencode({"grant_type": "client_credentials", "scope": "api", "resource": PEER_RESOURCE[workload]})

    def rt_extra(self, workload: str) -> str:
        return "&" + urlencode({"resource": PEER_RESOURCE[workload]})

    def refresh_tokens(self, count: int) -> list[str]:
        """``count`` refresh tokens, each of its own grant, from the peer-bench's scripted code flow."""
        env = dict(os.environ, PEER_PORT=str(self.port))
        tokens = []
        for _ in range(count):
            subprocess.run(["bash", "get_refresh_token.sh"], cwd=self.work, env=env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            tokens.append((self.work / "refresh_token.txt").read_text().strip())
        return tokens


# --- idp ----------------------------------------------------------------------------------
def server_command(server: str, port: int, access_log: Path, app: str = "idp.wsgi:app") -> list[str]:
    """The Dockerfile's server settings, one worker process (one core)."""
    venv = Path(sys.executable).parent
    if server.startswith("granian"):  # granian:N runs N application threads instead of the Dockerfile's 8
        threads = server.partition(":")[2] or "8"
        return [str(venv / "granian"), "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
                "--workers", "1", "--blocking-threads", threads, "--http1-buffer-size", "65536",
                "--workers-kill-timeout", "30", "--access-log", app]
    return [str(venv / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "1", "--worker-class", "gthread",
            "--threads", "8", "--access-logfile", str(access_log), "--log-level", "warning", app]


class Idp:
    def __init__(self, name: str, database_url: str, port: int, ids: dict, log_dir: Path, server: str):
        self.name, self.database_url, self.port, self.log_dir, self.server = name, database_url, port, log_dir, server
        self.base = f"http://127.0.0.1:{port}"
        self.portal, self.batch = ids["portal"], ids["batch"]
        self.auth = basic_value(*self.batch)  # client_credentials
        self.rt_auth = basic_value(*self.portal)  # refresh tokens
        self.process = None
        self.session = None

    def start(self, workload: str) -> None:
        env = dict(os.environ, IDP_ISSUER=self.base, IDP_SECRET_KEY=st.SECRET_KEY, IDP_DATABASE_URL=self.database_url,
                   IDP_SESSION_BACKEND="sql", IDP_LOGIN_SLOWDOWN="false", IDP_CODE_TTL="3600",
                   IDP_ACCESS_TOKEN_ALG=IDP_ALG.get(workload, "ES256"))
        log = open(self.log_dir / f"{self.name}-{workload}.log", "ab")
        command = server_command(self.server, self.port, self.log_dir / f"{self.name}-{workload}-access.log")
        self.process = subprocess.Popen(command, cwd=ROOT.parent, env=env, stdout=log, stderr=subprocess.STDOUT,
                                        preexec_fn=pinned(SERVER_CPU))
        wait_http(self.base + "/healthz", self.process)
        self.session = None

    def stop(self) -> None:
        if self.process:
            stop(self.process)
            self.process = None

    def path(self, workload: str) -> str | None:
        return {"discovery": "/.well-known/openid-configuration", "jwks": "/jwks.json",
                "healthz": "/healthz"}.get(workload, "/token")

    def cc_body(self, workload: str) -> str:
        return urlencode({"grant_type": "client_credentials", "scope": "profile"})

    def rt_extra(self, workload: str) -> str:
        return ""

    def refresh_tokens(self, count: int) -> list[str]:
        """``count`` refresh tokens: one password login, then ``/authorize?prompt=none`` and a code
        exchange for each."""
        import requests
        if self.session is None:
            self.session = requests.Session()
            _, location = st.login_http(self.session, self.base, self.portal[0])
            st.expect(self.session.get(location, allow_redirects=False).status_code, 302, "authorize resume")
        tokens = []
        for _ in range(count):
            params, verifier = st.auth_params(self.portal[0], prompt="none")
            response = self.session.get(self.base + "/authorize?" + urlencode(params), allow_redirects=False)
            code = st.query_of(response.headers["Location"])["code"]
            response = requests.post(self.base + "/token", auth=self.portal, data={
                "grant_type": "authorization_code", "code": code, "redirect_uri": st.REDIRECT_URI,
                "code_verifier": verifier})
            st.expect(response.status_code, 200, "code exchange", response.text)
            tokens.append(response.json()["refresh_token"])
        return tokens


# --- the Python floor ---------------------------------------------------------------------
class Floor:
    """bench/floor_app.py on granian as the Dockerfile runs idp: the least a persisting Python token
    endpoint does (its docstring), on a SQLite file of its own kept across the workloads of a run."""
    name = "Python floor"
    client_id = "bench-floor"

    def __init__(self, port: int, log_dir: Path):
        self.port, self.log_dir = port, log_dir
        self.base = f"http://127.0.0.1:{port}"
        self.secret = base64.urlsafe_b64encode(os.urandom(24)).decode()
        self.auth = self.rt_auth = basic_value(self.client_id, self.secret)
        self.database = log_dir / "floor.sqlite"
        self.process = None

    def start(self, workload: str) -> None:
        env = dict(os.environ, FLOOR_DATABASE=str(self.database), FLOOR_ISSUER=self.base,
                   FLOOR_ALG=IDP_ALG.get(workload, "ES256"), FLOOR_CLIENT_ID=self.client_id,
                   FLOOR_CLIENT_SECRET=self.secret)
        log = open(self.log_dir / f"floor-{workload}.log", "ab")
        command = server_command("granian", self.port, self.log_dir / f"floor-{workload}-access.log",
                                 app="floor_app:app")
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                        preexec_fn=pinned(SERVER_CPU))
        wait_http(self.base + "/healthz", self.process)

    def stop(self) -> None:
        if self.process:
            stop(self.process)
            self.process = None

    def path(self, workload: str) -> str | None:
        return {"discovery": None, "jwks": None, "healthz": "/healthz"}.get(workload, "/token")

    def cc_body(self, workload: str) -> str:
        return urlencode({"grant_type": "client_credentials", "scope": "profile"})

    def rt_extra(self, workload: str) -> str:
        return ""

    def refresh_tokens(self, count: int) -> list[str]:
        """``count`` refresh tokens from the floor's bench-only seed grant (a new grant each)."""
        import requests
        from floor_app import SEED_GRANT
        tokens = []
        with requests.Session() as session:
            for _ in range(count):
                response = session.post(self.base + "/token", data={"grant_type": SEED_GRANT},
                                        headers={"Authorization": self.auth})
                st.expect(response.status_code, 200, "floor seed", response.text)
                tokens.append(response.json()["refresh_token"])
        return tokens


# --- wrk ----------------------------------------------------------------------------------
class WrkRun(NamedTuple):
    rate: float  # requests per second
    p50_ms: float
    p99_ms: float


def wrk_latency(output: str, percentile: str) -> float:
    """A percentile of wrk's ``--latency`` distribution, in milliseconds."""
    value, unit = re.search(rf"^\s*{percentile}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def wrk(target, workload: str, seconds: float, tmp: Path, cpus=frozenset({CLIENT_CPU}),
        connections: int = CONNECTIONS) -> WrkRun:
    """One wrk run (pinned to ``cpus``): requests per second, median and 99th percentile latency.
    Stops the script on any non-200 answer or socket error."""
    path = target.path(workload)
    url = target.base + path
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
    if workload.startswith("cc-"):
        command += ["-s", str(WRK_DIR / "count.lua"), url, "--", "POST", target.auth, target.cc_body(workload)]
    elif workload.startswith("rt-"):
        pool = tmp / f"pool-{target.name}.txt"
        pool.write_text("\n".join(target.refresh_tokens(POOL)) + "\n")
        command += ["-s", str(WRK_DIR / "rotate.lua"), url, "--", target.rt_auth, str(pool), target.rt_extra(workload)]
    else:
        command += ["-s", str(WRK_DIR / "count.lua"), url, "--", "GET"]
    output = subprocess.run(command, capture_output=True, text=True,
                            preexec_fn=lambda: os.sched_setaffinity(0, cpus)).stdout
    rate = re.search(r"Requests/sec:\s*([\d.]+)", output)
    non200 = re.search(r"non200 (\d+)", output)
    if not rate or not non200 or int(non200.group(1)) or "Socket errors" in output:
        raise SystemExit(f"{target.name} {workload}: a run with failed requests:\n{output}")
    return WrkRun(float(rate.group(1)), wrk_latency(output, "50"), wrk_latency(output, "99"))


def describe(target, workload: str) -> str:
    """What one answer carries: status, size, token type and the access token's algorithm."""
    import requests
    if not workload.startswith(("cc-", "rt-")):
        response = requests.get(target.base + target.path(workload))
        return f"{len(response.content)} bytes"
    if workload.startswith("cc-"):
        response = requests.post(target.base + "/token", data=target.cc_body(workload),
                                 headers={"Authorization": target.auth,
                                          "Content-Type": "application/x-www-form-urlencoded"})
    else:
        token = target.refresh_tokens(1)[0]
        response = requests.post(target.base + "/token",
                                 data=urlencode({"grant_type": "refresh_token", "refresh_token": token})
                                 + target.rt_extra(workload),
                                 headers={"Authorization": target.rt_auth,
                                          "Content-Type": "application/x-www-form-urlencoded"})
    st.expect(response.status_code, 200, f"{target.name} {workload}", response.text)
    body = response.json()
    header = json.loads(base64.urlsafe_b64decode(body["access_token"].split(".")[0] + "=="))
    return (f"{len(response.content)} bytes, {header.get('alg')} access token, "
            f"fields {','.join(sorted(body))}")


@contextlib.contextmanager
def idp_databases(args, tmp: Path):
    """(name, database URL, client ids) of each idp database: SQLite, and PostgreSQL when asked."""
    out = []
    with contextlib.ExitStack() as stack:
        backends = [("idp SQLite", None)]
        if args.postgres:
            url = stack.enter_context(st.scratch_postgres(args.postgres))
            if args.postgres_async_commit:
                import psycopg
                from psycopg import sql
                with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
                    conn.execute(sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(
                        sql.Identifier(url.rsplit("/", 1)[1])))
            backends.append(("idp PostgreSQL", url))
        for name, url in backends:
            directory = tmp / name.split()[-1].lower()
            directory.mkdir()
            st.DATABASE_URL = url
            port = free_port()
            app, ids = st.prepare(str(directory), f"http://127.0.0.1:{port}")
            with app.app_context():
                from idp.extensions import db
                db.engine.dispose()
            out.append((name, st.database_url(str(directory)), port, ids))
            st.DATABASE_URL = None
        yield out


def default_peer_src() -> Path:
    candidates = [parent / "shared" / "peer-bench" for parent in ROOT.parents[1:3]]
    return next((path for path in candidates if path.exists()), candidates[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", metavar="workload",
                        help="any of " + ", ".join(WORKLOADS) + " (default: all)")
    parser.add_argument("--runs", type=int, default=3, help="measured runs per server and workload")
    parser.add_argument("--duration", type=float, default=15, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of the discarded warm-up run")
    parser.add_argument("--postgres", metavar="URL", help="also idp on a scratch database of this server, "
                        "e.g. postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--postgres-async-commit", action="store_true",
                        help="a diagnostic, not a deployment setting: the scratch database commits without "
                        "waiting for the WAL flush (synchronous_commit=off), to show what the flush costs")
    parser.add_argument("--server", default="granian",
                        help="idp's WSGI server: granian (the Dockerfile's, 8 application threads), granian:N "
                        "(N threads), gunicorn (gthread, 8 threads, as before), or several (gunicorn,granian), "
                        "each its own column")
    parser.add_argument("--floor", action="store_true",
                        help="add the Python floor (bench/floor_app.py), a yardstick of the least a persisting "
                        "Python token endpoint does, and the ratios floor/peer and idp/floor")
    parser.add_argument("--peer-src", type=Path, default=default_peer_src(),
                        help="the peer-bench folder (read only; default: shared/peer-bench beside the checkout "
                        "or one level further up)")
    parser.add_argument("--peer-work", type=Path, default=Path(tempfile.gettempdir()) / "idp-peer-bench",
                        help="where the writable copy with node modules lives (kept between runs)")
    args = parser.parse_args()
    args.workloads = args.workloads or list(WORKLOADS)
    args.servers = args.server.split(",")
    if any(server != "gunicorn" and not re.fullmatch(r"granian(:[1-9][0-9]?)?", server) for server in args.servers):
        parser.error("--server: gunicorn, granian, granian:THREADS, or several of them separated by commas")
    unknown = set(args.workloads) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workload(s): {', '.join(sorted(unknown))}")
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    if len(os.sched_getaffinity(0)) < 2:
        raise SystemExit("needs two CPUs: the servers on CPU 0, wrk on CPU 1")

    work = Peer.install(args.peer_src.resolve(), args.peer_work)
    floor_note = "; the Python floor on granian" if args.floor else ""
    print(f"python {sys.version.split()[0]}; idp on {args.server}{floor_note}; servers pinned to CPU {SERVER_CPU}, "
          f"wrk -t1 -c{CONNECTIONS} on CPU {CLIENT_CPU}; {args.runs} interleaved runs of {args.duration:g} s per "
          f"workload after a {args.warmup:g} s warm-up")
    print("machine: " + st.yardstick(SERVER_CPU) + f"; load average {os.getloadavg()[0]:.2f}")
    results: dict[tuple[str, str], list[float]] = {}
    carried: dict[tuple[str, str], str] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        with idp_databases(args, tmp) as databases:
            idps = [Idp(name + (f" {server}" if len(args.servers) > 1 else ""), url, free_port(), ids, tmp, server)
                    for name, url, port, ids in databases for server in args.servers]
            peer = Peer(work, free_port(), tmp)
            floors = [Floor(free_port(), tmp)] if args.floor else []
            try:
                for workload in args.workloads:
                    targets = [target for target in [peer, *idps, *floors] if target.path(workload)]
                    for target in targets:
                        target.start(workload)
                        carried[target.name, workload] = describe(target, workload)
                        wrk(target, workload, args.warmup, tmp)
                    for run in range(args.runs):
                        order = targets[run % len(targets):] + targets[:run % len(targets)]
                        for target in order:
                            rate = wrk(target, workload, args.duration, tmp).rate
                            results.setdefault((target.name, workload), []).append(rate)
                            print(f"{workload:<10} run {run + 1} {target.name:<15} {rate:9.1f} req/s", flush=True)
                    for target in targets:
                        target.stop()
            finally:
                for target in [peer, *idps, *floors]:
                    target.stop()
            print_table(args.workloads, peer.name, [t.name for t in idps], floors[0].name if floors else None,
                        results, carried)


def table_lines(workloads, peer_name: str, idp_names: list[str], floor_name: str | None, results) -> list[str]:
    """The markdown table: req/s ranges per server, then the ratios of medians (idp/peer for each idp;
    with the floor, floor/peer and idp/floor)."""
    def cell(values):
        if not values:
            return ""
        low, high = min(values), max(values)
        return f"{low:,.0f}–{high:,.0f}" if len(values) > 1 else f"{low:,.0f}"

    def ratio(top: str, bottom: str, workload: str) -> str:
        mine, theirs = results.get((top, workload)), results.get((bottom, workload))
        return f"{statistics.median(mine) / statistics.median(theirs):.2f}" if mine and theirs else ""

    names = [peer_name, *idp_names, *([floor_name] if floor_name else [])]
    short = [name.removeprefix("idp ") for name in idp_names]
    ratios = [(name, peer_name, "ratio " + label) for name, label in zip(idp_names, short)]
    if floor_name:
        ratios.append((floor_name, peer_name, "floor/peer"))
        ratios += [(name, floor_name, label + "/floor") for name, label in zip(idp_names, short)]
    lines = ["| workload (one core) | " + " | ".join(names) + " | " + " | ".join(r[2] for r in ratios) + " |",
             "|---|" + "---:|" * (len(names) + len(ratios))]
    for workload in workloads:
        row = [cell(results.get((name, workload), [])) for name in names]
        row += [ratio(top, bottom, workload) for top, bottom, _ in ratios]
        lines.append(f"| {workload} | " + " | ".join(row) + " |")
    return lines


def print_table(workloads, peer_name, idp_names, floor_name, results, carried) -> None:
    print()
    print("\n".join(table_lines(workloads, peer_name, idp_names, floor_name, results)))
    print("\nratio: median req/s of idp over the peer's median, same workload, same interleaved runs"
          + ("; floor/peer and idp/floor likewise" if floor_name else ""))
    print("\nWhat one answer of each carries:")
    for (name, workload), text in carried.items():
        print(f"  {workload:<10} {name:<15} {text}")


if __name__ == "__main__":
    main()
