"""Requests per second of the token, JWKS and discovery endpoints, and the cost of a password login.

    .venv/bin/python bench/server_throughput.py [--count 500] [--seconds 10] [--http] [--profile]

In-process (always): the Flask test client, one thread, one request at a time, pinned to one CPU,
SQLite in a temporary directory. With ``--http``: the same operations against a real gunicorn
(1 gthread worker with ``--concurrency`` threads) on 127.0.0.1 pinned to one CPU, loaded by
``--concurrency`` keep-alive connections from threads pinned to another CPU when there is one.
Every loop stops at ``--count`` requests or ``--seconds`` seconds, whichever is first.

Authorization codes are made by signing in once through the real login page and then asking
``/authorize?prompt=none`` on the same session; only the ``/token`` exchanges are timed.
``--profile`` adds a cProfile summary of the in-process token exchanges. ``--id-token-alg ES256``
registers the portal for ES256 ID tokens instead of the default RS256 (an RSA-2048 signature is the
largest single cost of a code exchange).
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import cProfile
import gc
import hashlib
import io
import json
import os
import pstats
import re
import secrets
import statistics
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from idp import create_app  # noqa: E402
from idp.config import Settings  # noqa: E402
from idp.migrate import upgrade  # noqa: E402

ID_NUMBER = "11010519491231002X"
PASSWORD = "correct horse battery"
REDIRECT_URI = "http://localhost:9001/oidc/callback"
SECRET_KEY = "bench-secret-" + "x" * 32

ROWS: list[tuple[str, str, int, float, float | None]] = []  # mode, name, count, seconds, median
ID_TOKEN_ALG = "RS256"


# --- helpers ------------------------------------------------------------------------------
def pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


def yardstick(cpu: int, seconds: float = 1.0) -> str:
    """This core's signatures per second with the token algorithms, and the CPU model: every figure
    of the script scales with the machine, and these say how fast the machine was (an RSA-2048
    signature is a fixed part of each RS256 code exchange)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                      if line.startswith("model name")), model)
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    message = b"x" * 200

    def rate(sign) -> float:
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            sign()
            done += 1
        return done / (time.perf_counter() - started)

    before = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    pin(cpu)
    try:
        rsa_rate = rate(lambda: rsa_key.sign(message, padding.PKCS1v15(), hashes.SHA256()))
        ec_rate = rate(lambda: ec_key.sign(message, ec.ECDSA(hashes.SHA256())))
    finally:
        if before is not None:
            os.sched_setaffinity(0, before)
    return f"{model}; CPU {cpu} signs {rsa_rate:,.0f} RSA-2048 (RS256) and {ec_rate:,.0f} P-256 (ES256) per second"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def query_of(location: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    if not match:
        raise SystemExit("no CSRF token in the login page")
    return match.group(1)


def basic(client_id: str, secret: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def timed(mode: str, name: str, call, count: int, max_seconds: float, items=None) -> None:
    """Run ``call(i)`` up to ``count`` times or ``max_seconds``, one at a time; record the number of
    requests, the elapsed time and the median time of one request (robust to a moment of noise from
    other jobs on the machine, which the mean is not)."""
    durations = []
    started = time.perf_counter()
    deadline = started + max_seconds
    while len(durations) < count and time.perf_counter() < deadline:
        before = time.perf_counter()
        call(items[len(durations)] if items is not None else len(durations))
        durations.append(time.perf_counter() - before)
    ROWS.append((mode, name, len(durations), time.perf_counter() - started, statistics.median(durations)))


def expect(status: int, wanted: int, what: str, body=None) -> None:
    if status != wanted:
        raise SystemExit(f"{what}: HTTP {status}, expected {wanted}: {body!r}"[:500])


def auth_params(client_id: str, prompt: str | None = None) -> tuple[dict, str]:
    verifier, challenge = pkce_pair()
    params = dict(response_type="code", client_id=client_id, redirect_uri=REDIRECT_URI, scope="openid profile",
                  state=secrets.token_urlsafe(8), nonce=secrets.token_urlsafe(8), code_challenge=challenge,
                  code_challenge_method="S256")
    if prompt:
        params["prompt"] = prompt
    return params, verifier


DATABASE_URL: str | None = None  # set by --postgres; otherwise SQLite in the temporary directory


def database_url(tmp: str) -> str:
    return DATABASE_URL or f"sqlite:///{tmp}/idp.db"


@contextlib.contextmanager
def scratch_postgres(server_url: str):
    """A uniquely named database on the given server for one run, dropped afterwards."""
    import psycopg
    from psycopg import sql

    libpq = server_url.replace("postgresql+psycopg://", "postgresql://", 1)
    name = "idp_bench_" + secrets.token_hex(4)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield server_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(libpq, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def settings_for(tmp: str, issuer: str) -> Settings:
    return Settings.from_env({}, issuer=issuer, secret_key=SECRET_KEY, database_url=database_url(tmp),
                             session_backend="sql", login_slowdown=False, code_ttl=3600)


def prepare(tmp: str, issuer: str, settings: Settings | None = None):
    """Schema, signing keys, one person, a code-flow client and a client_credentials client (with
    ``settings_for(tmp, issuer)`` unless ``settings`` are given)."""
    from idp.clients.service import register_client
    from idp.identity.service import create_person
    app = create_app(settings or settings_for(tmp, issuer))
    app.config["TESTING"] = True
    upgrade(app)
    with app.app_context():
        app.extensions["idp"].keys.ensure_active_keys()
        create_person(id_number=ID_NUMBER, name="张三", password=PASSWORD)
        portal = register_client(name="Bench portal", redirect_uris=[REDIRECT_URI], scopes=["openid", "profile"],
                                 id_token_alg=ID_TOKEN_ALG)
        batch = register_client(name="Bench batch", redirect_uris=[], scopes=["profile"],
                                grant_types=["client_credentials"])
        ids = {"portal": (portal.client.client_id, portal.client_secret),
               "batch": (batch.client.client_id, batch.client_secret)}
    return app, ids


# --- in-process ---------------------------------------------------------------------------
def login_in_process(client, client_id: str, username: str = ID_NUMBER, password: str = PASSWORD,
                     profiler=None) -> tuple[float, str]:
    """Sign in through /authorize and /login; returns (seconds of the POST /login, final Location).
    ``profiler`` (a cProfile.Profile) is enabled around the POST /login only."""
    params, _ = auth_params(client_id)
    response = client.get("/authorize?" + urlencode(params))
    expect(response.status_code, 302, "authorize")
    login_location = response.headers["Location"]
    page = client.get(login_location)
    expect(page.status_code, 200, "login page")
    form = {"csrf_token": csrf_token(page.get_data(as_text=True)), "username": username, "password": password,
            "tx": query_of(login_location)["tx"]}
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    response = client.post("/login", data=form)
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - started
    expect(response.status_code, 302, "login", response.get_data(as_text=True))
    return elapsed, response.headers["Location"]


def run_in_process(args) -> None:
    from idp.identity.passwords import hash_password, verify_password
    mode = "in-process"
    with tempfile.TemporaryDirectory(dir=args.db_dir) as tmp:
        app, ids = prepare(tmp, "http://localhost")
        portal_id, portal_secret = ids["portal"]
        batch_id, batch_secret = ids["batch"]
        client = app.test_client()

        # one real login, then prompt=none authorizations on the same session
        _, location = login_in_process(client, portal_id)
        response = client.get(location)
        expect(response.status_code, 302, "authorize resume")
        codes = []

        def make_code(_):
            params, verifier = auth_params(portal_id, prompt="none")
            response = client.get("/authorize?" + urlencode(params))
            expect(response.status_code, 302, "authorize prompt=none")
            query = query_of(response.headers["Location"])
            if "code" not in query:
                raise SystemExit(f"authorize prompt=none gave no code: {query}")
            codes.append((query["code"], verifier))

        timed(mode, "GET /authorize prompt=none (code issued)", make_code, args.count, args.seconds)

        api = app.test_client()  # the portals' back channel: no browser cookies
        portal_auth = basic(portal_id, portal_secret)

        refresh_tokens = []

        def exchange(item):
            code, verifier = item
            response = api.post("/token", headers=portal_auth, data={
                "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
                "code_verifier": verifier})
            expect(response.status_code, 200, "token (authorization_code)", response.get_data(as_text=True))
            refresh_tokens.append(response.get_json()["refresh_token"])

        def refresh(token):
            response = api.post("/token", headers=portal_auth,
                                data={"grant_type": "refresh_token", "refresh_token": token})
            expect(response.status_code, 200, "token (refresh_token)", response.get_data(as_text=True))

        batch_auth = basic(batch_id, batch_secret)

        def client_credentials(_):
            response = api.post("/token", headers=batch_auth,
                                   data={"grant_type": "client_credentials", "scope": "profile"})
            expect(response.status_code, 200, "token (client_credentials)", response.get_data(as_text=True))

        # warm up (the first token request loads the signing keys), then freeze the start-up heap as
        # idp.wsgi does in a gunicorn worker
        if len(codes) > 1:
            exchange(codes.pop(0))
            refresh(refresh_tokens[0])
        client_credentials(None)
        gc.collect()
        gc.freeze()
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        timed(mode, "POST /token authorization_code", exchange, len(codes), args.seconds, items=codes)
        fresh = refresh_tokens[1:]  # each code exchange gave one; the warm-up's was used above
        timed(mode, "POST /token refresh_token", refresh, len(fresh), args.seconds, items=fresh)
        timed(mode, "POST /token client_credentials", client_credentials, args.count, args.seconds)
        if profiler:
            profiler.disable()

        def get(path, wanted_type):
            def call(_):
                response = client.get(path)
                expect(response.status_code, 200, path)
                if response.mimetype != wanted_type:
                    raise SystemExit(f"{path}: unexpected content type {response.mimetype}")
            return call

        if not args.tokens_only:
            timed(mode, "GET /jwks.json", get("/jwks.json", "application/jwk-set+json"), args.count * 4,
                  args.seconds)
            timed(mode, "GET /.well-known/openid-configuration",
                  get("/.well-known/openid-configuration", "application/json"), args.count * 4, args.seconds)

        # password login: the whole POST /login, then argon2 verification alone
        login_seconds = 0.0
        rounds = 0
        deadline = time.perf_counter() + args.seconds
        while not args.tokens_only and rounds < args.login_rounds and time.perf_counter() < deadline:
            elapsed, _ = login_in_process(app.test_client(), portal_id)
            login_seconds += elapsed
            rounds += 1
        if rounds:
            ROWS.append((mode, "POST /login (password, success)", rounds, login_seconds, None))
        stored = hash_password(PASSWORD)

        def verify(_):
            ok, _ = verify_password(PASSWORD, stored)
            if not ok:
                raise SystemExit("argon2 verification failed")

        if not args.tokens_only:
            timed(mode, "argon2id verify alone", verify, args.login_rounds, args.seconds)
        app.extensions["idp"].notifier.wait_idle(5)
        with app.app_context():
            from idp.extensions import db
            db.engine.dispose()

    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(35)
        stats.sort_stats("tottime").print_stats(20)
        print(out.getvalue())


# --- gunicorn -----------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(tmp: str, port: int, cpu: int, threads: int) -> subprocess.Popen:
    env = dict(os.environ, IDP_ISSUER=f"http://127.0.0.1:{port}", IDP_SECRET_KEY=SECRET_KEY,
               IDP_DATABASE_URL=database_url(tmp), IDP_SESSION_BACKEND="sql", IDP_LOGIN_SLOWDOWN="false",
               IDP_CODE_TTL="3600")
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [str(gunicorn) if gunicorn.exists() else "gunicorn", "--bind", f"127.0.0.1:{port}",
               "--workers", "1", "--worker-class", "gthread", "--threads", str(threads),
               "--log-level", "warning", "idp.wsgi:app"]
    affinity = (lambda: os.sched_setaffinity(0, {cpu})) if hasattr(os, "sched_setaffinity") else None
    return subprocess.Popen(command, cwd=ROOT, env=env, preexec_fn=affinity)


def wait_ready(base: str, process: subprocess.Popen, timeout: float = 30) -> None:
    import requests
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with status {process.returncode}")
        try:
            if requests.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not become ready")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def load(name: str, port: int, make_request, count: int, max_seconds: float, concurrency: int,
         on_body=None) -> None:
    """``concurrency`` threads, each on its own keep-alive connection, send ``make_request(i)``
    (method, path, headers, body) until ``count`` requests are done or ``max_seconds`` have passed;
    ``on_body(data)`` is given each successful response's body."""
    import http.client
    lock = threading.Lock()
    state = {"next": 0, "failure": None}
    deadline = time.perf_counter() + max_seconds

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            while True:
                with lock:
                    i = state["next"]
                    if i >= count or time.perf_counter() > deadline or state["failure"]:
                        return
                    state["next"] = i + 1
                method, path, headers, body = make_request(i)
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                if response.status != 200:
                    state["failure"] = f"{name}: HTTP {response.status}: {data[:300]!r}"
                    return
                if on_body is not None:
                    on_body(data)
                if (response.getheader("Connection") or "").lower() == "close":
                    conn.close()
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if state["failure"]:
        raise SystemExit(state["failure"])
    ROWS.append(("gunicorn", name, min(state["next"], count), elapsed, None))


GET_PATHS = ("/jwks.json", "/.well-known/openid-configuration", "/healthz")


def login_http(session, base: str, client_id: str, username: str = ID_NUMBER,
               password: str = PASSWORD) -> tuple[float, str]:
    """The login page flow over HTTP: /authorize, the login page, POST /login (timed); returns the
    seconds of the POST and where it sent the browser (/authorize again: a failed login does not)."""
    params, _ = auth_params(client_id)
    response = session.get(base + "/authorize?" + urlencode(params), allow_redirects=False)
    expect(response.status_code, 302, "authorize")
    login_location = urljoin(base + "/", response.headers["Location"])
    page = session.get(login_location, allow_redirects=False)
    expect(page.status_code, 200, "login page")
    form = {"csrf_token": csrf_token(page.text), "username": username, "password": password,
            "tx": query_of(login_location)["tx"]}
    started = time.perf_counter()
    response = session.post(base + "/login", data=form, allow_redirects=False)
    elapsed = time.perf_counter() - started
    expect(response.status_code, 302, "login", response.text)
    location = urljoin(base + "/", response.headers["Location"])
    if not urlsplit(location).path.startswith("/authorize"):
        raise SystemExit(f"login as {username}: sent to {location}, not back to /authorize")
    return elapsed, location


def run_http(args, server_cpu: int, client_cpu: int) -> None:
    import requests
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    concurrency = args.concurrency
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    with tempfile.TemporaryDirectory(dir=args.db_dir) as tmp:
        app, ids = prepare(tmp, base)
        with app.app_context():
            from idp.extensions import db
            db.engine.dispose()
        portal_id, portal_secret = ids["portal"]
        batch_id, batch_secret = ids["batch"]
        process = start_gunicorn(tmp, port, server_cpu, threads=concurrency)
        try:
            wait_ready(base, process)
            pin(client_cpu)
            session = requests.Session()
            _, location = login_http(session, base, portal_id)
            response = session.get(location, allow_redirects=False)
            expect(response.status_code, 302, "authorize resume")
            codes = []
            started = time.perf_counter()
            while len(codes) < args.count and time.perf_counter() - started < args.seconds:
                params, verifier = auth_params(portal_id, prompt="none")
                response = session.get(base + "/authorize?" + urlencode(params), allow_redirects=False)
                expect(response.status_code, 302, "authorize prompt=none")
                query = query_of(response.headers["Location"])
                if "code" not in query:
                    raise SystemExit(f"authorize prompt=none gave no code: {query}")
                codes.append((query["code"], verifier))
            ROWS.append(("gunicorn", "GET /authorize prompt=none (1 connection)", len(codes),
                         time.perf_counter() - started, None))

            portal_auth = {**basic(portal_id, portal_secret), **form_type}

            def exchange(i):
                code, verifier = codes[i]
                return "POST", "/token", portal_auth, urlencode({
                    "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
                    "code_verifier": verifier})

            batch_auth = {**basic(batch_id, batch_secret), **form_type}
            batch_body = urlencode({"grant_type": "client_credentials", "scope": "profile"})

            refresh_tokens = []
            load("POST /token authorization_code", port, exchange, len(codes), args.seconds, concurrency,
                 on_body=lambda data: refresh_tokens.append(json.loads(data)["refresh_token"]))
            load("POST /token refresh_token", port, lambda i: ("POST", "/token", portal_auth, urlencode({
                "grant_type": "refresh_token", "refresh_token": refresh_tokens[i]})),
                len(refresh_tokens), args.seconds, concurrency)
            load("POST /token client_credentials", port, lambda i: ("POST", "/token", batch_auth, batch_body),
                 args.count, args.seconds, concurrency)
            for path in () if args.tokens_only else GET_PATHS:
                load(f"GET {path}", port, lambda i, path=path: ("GET", path, {}, None), args.count * 4,
                     args.seconds, concurrency)

            login_seconds = 0.0
            rounds = 0
            deadline = time.perf_counter() + args.seconds
            while not args.tokens_only and rounds < args.login_rounds and time.perf_counter() < deadline:
                elapsed, _ = login_http(requests.Session(), base, portal_id)
                login_seconds += elapsed
                rounds += 1
            if rounds:
                ROWS.append(("gunicorn", "POST /login (password, success)", rounds, login_seconds, None))
        finally:
            stop(process)


# --- main ---------------------------------------------------------------------------------
def print_table() -> None:
    """req/s and ms/request from the whole loop; the median columns from the median request (one at a
    time loops only: with concurrent connections a request's latency is not its cost)."""
    print(f"{'mode':<11} {'operation':<44} {'requests':>8} {'seconds':>8} {'req/s':>8} {'ms/req':>7} "
          f"{'median ms':>9} {'1/median':>8}")
    for mode, name, count, seconds, median in ROWS:
        rate = count / seconds if seconds else 0.0
        per = 1000 * seconds / count if count else 0.0
        tail = f"{1000 * median:>9.2f} {1 / median:>8.1f}" if median else f"{'':>9} {'':>8}"
        print(f"{mode:<11} {name:<44} {count:>8} {seconds:>8.2f} {rate:>8.1f} {per:>7.2f} {tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500,
                        help="requests per token loop (JWKS/discovery loops run 4x this)")
    parser.add_argument("--seconds", type=float, default=10.0, help="time bound of every loop")
    parser.add_argument("--login-rounds", type=int, default=10, help="password logins and argon2 verifications")
    parser.add_argument("--http", action="store_true", help="also measure a real gunicorn on 127.0.0.1")
    parser.add_argument("--concurrency", type=int, default=8,
                        help="with --http: keep-alive client connections, and gunicorn threads")
    parser.add_argument("--db-dir", help="parent directory of the temporary SQLite database (default: the "
                        "system temporary directory; /dev/shm takes fsync out of the figures)")
    parser.add_argument("--tokens-only", action="store_true",
                        help="only the token endpoint loops (no JWKS, discovery or login)")
    parser.add_argument("--profile", action="store_true", help="cProfile the in-process token exchanges")
    parser.add_argument("--postgres", metavar="URL",
                        help="use a scratch database on this PostgreSQL server (e.g. postgresql://postgres@"
                        "127.0.0.1:5432/test) instead of SQLite; each run creates and drops its own")
    parser.add_argument("--id-token-alg", choices=("RS256", "ES256"), default="RS256",
                        help="the bench portal's id_token_signed_response_alg (default RS256, the OIDC default)")
    args = parser.parse_args()
    global ID_TOKEN_ALG
    ID_TOKEN_ALG = args.id_token_alg

    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]
    server_cpu, client_cpu = cpus[0], cpus[-1]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; server pinned to CPU {server_cpu}"
          + (f", HTTP client on CPU {client_cpu}" if args.http else "") + f"; ID tokens {ID_TOKEN_ALG}")
    print("machine: " + yardstick(server_cpu))
    if args.postgres:
        print("database: a scratch PostgreSQL database (the database server is not pinned)")
    if args.http:
        # the server child is pinned on its own; this process pins itself only for the in-process run
        with database(args):
            run_http(args, server_cpu, client_cpu)
    pin(server_cpu)
    with database(args):
        run_in_process(args)
    print_table()


@contextlib.contextmanager
def database(args):
    global DATABASE_URL
    if not args.postgres:
        yield
        return
    with scratch_postgres(args.postgres) as url:
        DATABASE_URL = url
        try:
            yield
        finally:
            DATABASE_URL = None


if __name__ == "__main__":
    main()
