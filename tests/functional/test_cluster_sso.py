"""A province deployment on loopback: three idp nodes (the Dockerfile's server command) behind a real
nginx round-robin upstream, a private PostgreSQL server and Redis Sentinel (then Redis Cluster).

- A citizen logs in at portal A through node 1, is signed in at portal B by node 2 without the login
  page, and logs out through node 3, which ends the session at both portals (back-channel logout).
  nginx routes a request to one node when it carries ``X-Test-Node`` (the test pins each step that
  way) and round-robin otherwise; ``X-Upstream`` names the node that answered.
- Under a steady load of logins, SSO authorizations, code exchanges and refreshes: one node is
  SIGKILLed, the Redis primary is killed, PostgreSQL is stopped and started again. The counts are
  printed; the test asserts that no browser session is lost, every refresh family stays valid, no
  request is answered 500, and failures happen only in each fault's window:

  * node killed: only requests in flight on that node fail (nginx retries the idempotent ones and
    requests it could not connect for), at most one per load thread, within 3 s of the kill;
  * Redis primary killed: 503 answers only, until every live node writes to the promoted replica
    (at most 20 s);
  * PostgreSQL stopped: 503 answers only while it is down; no request started after it is back fails.

  (A 502 counts as the 503 it stands for: nginx answers 502 when the last node it tried for a GET
  was the dead one.) A step that failed transiently may have been applied before it failed (a login
  transaction, a code or a nonce spent: README "Redis deployments"); that login starts again, as a
  citizen's would, and such restarts are counted.
"""
from __future__ import annotations

import base64
import contextlib
import os
import random
import re
import secrets
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
import requests

import helpers
from live_server import ServerThread
from nginx_server import NGINX_MISSING, nginx_serving, round_robin_site
from private_postgres import private_postgres
from redis_topology import cluster_topology, sentinel_topology, wait_until

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow,
              pytest.mark.skipif(NGINX_MISSING, reason="nginx not installed")]

SECRET = "province-secret-" + "p" * 32
LOAD_REDIRECT = "http://127.0.0.1:9/callback"
WORKERS = 4
TRANSIENT = {502, 503, 504}


@dataclass
class Province:
    issuer: str
    node_ports: list
    nodes: list
    postgres: object
    redis: object
    portals: dict
    load_client: tuple
    person: tuple

    def node_address(self, number: int) -> str:
        return f"127.0.0.1:{self.node_ports[number - 1]}"


def _portal(stack, app, title):
    from idp.clients.service import register_client
    server = stack.enter_context(ServerThread())
    with app.app_context():
        registered = register_client(name=title, redirect_uris=[server.base_url + "/oidc/callback"],
                                     post_logout_redirect_uris=[server.base_url + "/"],
                                     backchannel_logout_uri=server.base_url + "/oidc/backchannel-logout",
                                     scopes=["openid", "profile"])
    return server, registered


@contextlib.contextmanager
def province(tmp_path, topology):
    from idp.clients.service import register_client
    from idp.extensions import db
    from idp.identity.service import create_person

    with contextlib.ExitStack() as stack:
        postgres = stack.enter_context(private_postgres())
        redis = stack.enter_context(topology(tmp_path / "redis"))
        lb_port = helpers.free_port()
        issuer = f"http://127.0.0.1:{lb_port}"
        master_bytes = secrets.token_bytes(32)
        master_key = base64.urlsafe_b64encode(master_bytes).decode().rstrip("=")
        settings = helpers.make_settings(tmp_path, issuer=issuer, secret_key=SECRET, database_url=postgres.url,
                                         session_backend="redis", redis_url=redis.url, master_key=master_bytes)
        app = helpers.create_app(settings)
        helpers.upgrade(app)
        with app.app_context():
            app.extensions["idp"].keys.ensure_active_keys()
            create_person(id_number=helpers.CITIZEN_ID, name="张三", password=helpers.CITIZEN_PASSWORD)
            load = register_client(name="负载门户", redirect_uris=[LOAD_REDIRECT], scopes=["openid", "profile"])
        portals = {title: _portal(stack, app, title) for title in ("Portal A", "Portal B")}
        with app.app_context():
            db.engine.dispose()
        app.extensions["idp"].store.close()

        node_ports = [helpers.free_port() for _ in range(3)]
        nodes = []
        for number, port in enumerate(node_ports, 1):
            command, image_env = helpers.dockerfile_command(port)
            env = helpers.server_environ(settings, **image_env, IDP_SESSION_BACKEND="redis",
                                         IDP_REDIS_URL=redis.url, IDP_MASTER_KEY=master_key,
                                         IDP_TRUSTED_PROXIES="127.0.0.1")
            nodes.append(stack.enter_context(helpers.serving(command, env, f"http://127.0.0.1:{port}",
                                                             log=tmp_path / f"node{number}.log",
                                                             process_group=True)))
        nginx_dir = tmp_path / "nginx"
        nginx_dir.mkdir()
        stack.enter_context(nginx_serving(nginx_dir, round_robin_site(lb_port, node_ports), lb_port,
                                          worker_connections=512))
        from demo_portal import create_app as create_portal
        for title, (server, registered) in portals.items():
            server.app = create_portal(title=title, port=server.port, base_url=server.base_url, issuer=issuer,
                                       client_id=registered.client.client_id,
                                       client_secret=registered.client_secret, secret_key="portal-" + title)
        yield Province(issuer, node_ports, nodes, postgres, redis,
                       {title: server for title, (server, _) in portals.items()},
                       (load.client.client_id, load.client_secret), (helpers.CITIZEN_ID, helpers.CITIZEN_PASSWORD))


@pytest.fixture(scope="module")
def sentinel_province(tmp_path_factory):
    with province(tmp_path_factory.mktemp("province-sentinel"), sentinel_topology) as realm:
        yield realm


@pytest.fixture(scope="module")
def cluster_province(tmp_path_factory):
    with province(tmp_path_factory.mktemp("province-cluster"), cluster_topology) as realm:
        yield realm


def _login_form(page: requests.Response) -> dict:
    fields = dict(re.findall(r'name="(csrf_token|tx)" value="([^"]+)"', page.text))
    assert "csrf_token" in fields and "tx" in fields, page.text[:500]
    return fields


def _served_by(responses, issuer) -> set:
    return {r.headers.get("X-Upstream") for r in responses if r.url.startswith(issuer)}


def test_login_on_node_1_sso_on_node_2_logout_on_node_3(sentinel_province):
    realm = sentinel_province
    portal_a, portal_b = realm.portals["Portal A"], realm.portals["Portal B"]
    browser = requests.Session()
    browser.trust_env = False

    browser.headers["X-Test-Node"] = "1"
    page = browser.get(portal_a.base_url + "/profile", timeout=30)
    assert page.url.startswith(realm.issuer + "/login"), page.url
    landed = browser.post(realm.issuer + "/login", timeout=30, data={
        **_login_form(page), "username": realm.person[0], "password": realm.person[1]})
    assert landed.url == portal_a.base_url + "/profile" and "张三" in landed.text
    assert _served_by([*page.history, page, *landed.history], realm.issuer) == {realm.node_address(1)}

    browser.headers["X-Test-Node"] = "2"
    page_b = browser.get(portal_b.base_url + "/profile", timeout=30)
    assert page_b.url == portal_b.base_url + "/profile" and "张三" in page_b.text
    assert not any("/login" in r.headers.get("Location", "") for r in page_b.history)
    assert _served_by(page_b.history, realm.issuer) == {realm.node_address(2)}

    browser.headers["X-Test-Node"] = "3"
    out = browser.get(portal_b.base_url + "/oidc/logout", timeout=30)
    assert out.url.startswith(portal_b.base_url + "/"), out.url
    assert _served_by(out.history, realm.issuer) == {realm.node_address(3)}

    # node 3 told both portals over the back channel: neither still has the citizen signed in
    del browser.headers["X-Test-Node"]
    deadline = time.monotonic() + 15
    for portal in (portal_a, portal_b):
        while True:
            again = browser.get(portal.base_url + "/profile", allow_redirects=False, timeout=30)
            if again.status_code == 302 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert again.status_code == 302 and again.headers["Location"].startswith(realm.issuer + "/authorize")
    assert browser.get(portal_a.base_url + "/profile", timeout=30).url.startswith(realm.issuer + "/login")


# -- the load walk ---------------------------------------------------------------------------------

@dataclass
class Record:
    kind: str
    started: float
    ended: float
    outcome: object  # an HTTP status or "connection"


@dataclass
class Family:
    refresh_token: str
    lost_response: bool = False  # a refresh whose answer never came back may have rotated the token
    ended: str = ""


@dataclass
class Ledger:
    records: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    sessions_lost: int = 0
    restarts: list = field(default_factory=list)  # (time, what)

    def add(self, record: Record) -> None:
        with self.lock:
            self.records.append(record)


class GiveUp(Exception):
    pass


class Restart(Exception):
    """A step answered 4xx after an earlier attempt of the round failed transiently: that attempt was
    applied (a login transaction or a code spent), and the citizen starts the login again."""


class LoadWorker:
    """One portal's users: new logins, SSO at the portal with an earlier browser, code exchanges and
    refreshes, each step retried (after 0.2 s) while it meets a transient failure."""

    def __init__(self, realm: Province, ledger: Ledger, stop: threading.Event):
        self.realm, self.ledger, self.stop = realm, ledger, stop
        self.client = requests.Session()
        self.client.trust_env = False
        self.client.auth = realm.load_client
        self.browsers: list[requests.Session] = []
        self.families: list[Family] = []
        self.error: BaseException | None = None
        self.retried = False  # a step of this round met a transient failure

    def expect(self, response, status, what):
        if response.status_code != status:
            if self.retried and 400 <= response.status_code < 500:
                raise Restart(f"{what} {response.status_code}")
            raise AssertionError((what, response.status_code, response.text[:300]))

    def call(self, session, kind, method, url, **kwargs):
        """The first answer that is not transient, and whether an earlier attempt may have been applied
        without its answer reaching us (a POST cut off on a node that died)."""
        deadline = time.monotonic() + 40
        ambiguous = False
        while True:
            started = time.monotonic()
            try:
                response = session.request(method, url, allow_redirects=False, timeout=20, **kwargs)
                outcome = response.status_code
            except requests.RequestException:
                response, outcome = None, "connection"
            self.ledger.add(Record(kind, started, time.monotonic(), outcome))
            if response is not None and "," in response.headers.get("X-Upstream", ""):
                self.retried = True  # nginx passed it on after a node failed it: the first try may have been applied
            if response is not None and response.status_code not in TRANSIENT:
                return response, ambiguous
            self.retried = True
            if method == "POST" and outcome in ("connection", 502):
                ambiguous = True
            if time.monotonic() > deadline:
                raise GiveUp(f"{kind}: still failing after 40 s ({outcome})")
            time.sleep(0.2)

    def authorize(self, browser, prompt=None) -> tuple[str, str] | None:
        """A code (and its verifier) for the load portal; None when the login page was needed."""
        verifier, challenge = helpers.pkce_pair()
        params = dict(response_type="code", client_id=self.realm.load_client[0], redirect_uri=LOAD_REDIRECT,
                      scope="openid profile", state=secrets.token_urlsafe(8), nonce=secrets.token_urlsafe(8),
                      code_challenge=challenge, code_challenge_method="S256")
        if prompt:
            params["prompt"] = prompt
        url = self.realm.issuer + "/authorize?" + urlencode(params)
        for _ in range(6):
            response, _ = self.call(browser, "authorize", "GET", url)
            self.expect(response, 302, urlsplit(url).path)
            location = urljoin(url, response.headers["Location"])
            if location.startswith(LOAD_REDIRECT):
                return self.code_from(location, params["state"]), verifier
            if urlsplit(location).path == "/login":
                return None if prompt is None else pytest.fail(f"prompt=none sent to the login page: {location}")
            url = location
        raise AssertionError(f"no code after redirects: {url}")

    def code_from(self, location, state) -> str:
        query = helpers.query_of(location)
        assert query.get("state") == state, query
        if "error" in query and self.retried:
            # e.g. "Replay attack": the nonce was recorded by the attempt that failed
            raise Restart(f"{query['error']}: {query.get('error_description')}")
        assert "code" in query, query
        return query["code"]

    def login(self, browser) -> tuple[str, str]:
        verifier, challenge = helpers.pkce_pair()
        params = dict(response_type="code", client_id=self.realm.load_client[0], redirect_uri=LOAD_REDIRECT,
                      scope="openid profile", state=secrets.token_urlsafe(8), nonce=secrets.token_urlsafe(8),
                      code_challenge=challenge, code_challenge_method="S256")
        response, _ = self.call(browser, "authorize", "GET", self.realm.issuer + "/authorize?" + urlencode(params))
        self.expect(response, 302, "/authorize")
        login_url = urljoin(self.realm.issuer + "/", response.headers["Location"])
        assert urlsplit(login_url).path == "/login", login_url
        page, _ = self.call(browser, "login page", "GET", login_url)
        self.expect(page, 200, "/login page")
        posted, _ = self.call(browser, "login", "POST", self.realm.issuer + "/login", data={
            **_login_form(page), "username": self.realm.person[0], "password": self.realm.person[1]})
        self.expect(posted, 302, "POST /login")
        url = urljoin(self.realm.issuer + "/", posted.headers["Location"])
        for _ in range(4):
            if url.startswith(LOAD_REDIRECT):
                return self.code_from(url, params["state"]), verifier
            response, _ = self.call(browser, "authorize", "GET", url)
            self.expect(response, 302, urlsplit(url).path)
            url = urljoin(url, response.headers["Location"])
        raise AssertionError(f"no code after the login: {url}")

    def exchange(self, code, verifier) -> Family | None:
        response, ambiguous = self.call(self.client, "code exchange", "POST", self.realm.issuer + "/token", data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": LOAD_REDIRECT,
            "code_verifier": verifier})
        if response.status_code == 400 and ambiguous:
            return None  # the first attempt redeemed the code; its answer was lost with the node
        self.expect(response, 200, "code exchange")
        return Family(response.json()["refresh_token"])

    def refresh(self, family: Family, kind="refresh") -> None:
        if family.ended:
            return
        response, ambiguous = self.call(self.client, kind, "POST", self.realm.issuer + "/token", data={
            "grant_type": "refresh_token", "refresh_token": family.refresh_token})
        if response.status_code == 200:
            family.refresh_token = response.json()["refresh_token"]
            return
        if ambiguous:
            family.lost_response = True
        family.ended = f"{response.status_code} {response.text[:200]}"

    def round(self) -> None:
        self.retried = False
        browser = requests.Session()
        browser.trust_env = False
        family = self.exchange(*self.login(browser))
        self.browsers.append(browser)
        if family:
            self.families.append(family)
            self.refresh(family)
        if len(self.browsers) > 1:
            earlier = random.choice(self.browsers[:-1])
            got = self.authorize(earlier)
            if got is None:
                with self.ledger.lock:
                    self.ledger.sessions_lost += 1
            elif (family := self.exchange(*got)) is not None:
                self.families.append(family)
        for family in random.sample(self.families, min(2, len(self.families))):
            self.refresh(family)

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                try:
                    self.round()
                except Restart as restart:
                    with self.ledger.lock:
                        self.ledger.restarts.append((time.monotonic(), str(restart)))
        except BaseException as exc:  # reported by the test
            self.error = exc


@dataclass
class Fault:
    name: str
    began: float
    window_end: float
    allowed: set
    most: int | None = None  # at most this many failures


def _sigkill_node(realm: Province, number: int) -> None:
    process = realm.nodes[number - 1]
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def _wait_served(realm: Province, nodes: list[int], timeout: float) -> float:
    """Until a write succeeds on each of ``nodes``, asked directly (a new login transaction in Redis);
    returns the seconds that took."""
    began = time.monotonic()
    params = {"response_type": "code", "client_id": realm.load_client[0], "redirect_uri": LOAD_REDIRECT,
              "scope": "openid", "code_challenge": helpers.pkce_pair()[1], "code_challenge_method": "S256"}
    for number in nodes:
        url = f"http://{realm.node_address(number)}/authorize?" + urlencode(params)
        while True:
            with contextlib.suppress(requests.RequestException):
                if requests.get(url, allow_redirects=False, timeout=5,
                                headers={"Host": urlsplit(realm.issuer).netloc}).status_code == 302:
                    break
            assert time.monotonic() - began < timeout, f"node {number} not served again within {timeout} s"
            time.sleep(0.1)
    return time.monotonic() - began


def _kill_redis_primary(realm: Province):
    """SIGKILL the (or, on Cluster, one) Redis primary; returns a test of its replica's promotion."""
    topo = realm.redis
    if hasattr(topo, "primary"):
        dead = topo.primary
        dead.kill()
        return lambda: topo.current_primary_port() not in (None, dead.port)
    dead = next(n for n in topo.nodes if n.client().info("replication").get("role") == "master")
    dead.kill()

    def promoted():
        client = next(n for n in topo.nodes if n.alive).client()
        return (client.cluster("info").get("cluster_state") == "ok"
                and all(int(primary[1]) != dead.port for _, _, primary, *_ in client.cluster("slots")))
    return promoted


def walk(realm: Province, label: str) -> None:
    ledger, stop = Ledger(), threading.Event()
    workers = [LoadWorker(realm, ledger, stop) for _ in range(WORKERS)]
    threads = [threading.Thread(target=w.run, daemon=True) for w in workers]
    began = time.monotonic()
    for t in threads:
        t.start()
    faults = []
    try:
        time.sleep(4)
        at = time.monotonic()
        _sigkill_node(realm, 2)
        faults.append(Fault("node 2 SIGKILL", at, at + 3, {"connection", 502}, most=WORKERS))
        time.sleep(4)

        at = time.monotonic()
        promoted = _kill_redis_primary(realm)
        wait_until(promoted, 20, "the replica's promotion", interval=0.1)
        _wait_served(realm, [1, 3], 20 - (time.monotonic() - at))
        followed = time.monotonic() - at
        print(f"\n{label}: nodes 1 and 3 write to the promoted Redis {followed:.1f} s after the primary died")
        # 502: nginx's answer when the last node it tried was the dead node 2
        faults.append(Fault("Redis primary killed", at, at + followed + 1, {502, 503}))
        time.sleep(3)

        at = time.monotonic()
        realm.postgres.stop()
        time.sleep(2)
        realm.postgres.start()
        back = time.monotonic()
        faults.append(Fault("PostgreSQL restart", at, back, {502, 503}))
        time.sleep(4)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    ended = time.monotonic()
    errors = [w.error for w in workers if w.error is not None]

    # after the walk: every browser still signed in, every refresh family still usable
    checker = LoadWorker(realm, ledger, threading.Event())
    browsers = [b for w in workers for b in w.browsers]
    families = [f for w in workers for f in w.families]
    still_signed_in = sum(checker.authorize(b, prompt="none") is not None for b in browsers)
    for family in families:
        checker.refresh(family, kind="final refresh")

    failures = [r for r in ledger.records if not isinstance(r.outcome, int) or r.outcome >= 500]
    by_fault: dict[str, list] = {f.name: [] for f in faults}
    outside = []
    for record in failures:
        fault = max((f for f in faults if f.began <= record.ended and record.started <= f.window_end),
                    key=lambda f: f.began, default=None)
        (by_fault[fault.name] if fault else outside).append(record)
    lost_responses = [f for f in families if f.lost_response]
    invalid = [f for f in families if f.ended and not f.lost_response]

    kinds = Counter(r.kind for r in ledger.records)
    print(f"\n{label}: {len(ledger.records)} requests in {ended - began:.1f} s "
          f"({', '.join(f'{n} {k}' for k, n in kinds.most_common())}); {len(browsers)} browser sessions, "
          f"{len(families)} refresh families")
    for fault in faults:
        records = by_fault[fault.name]
        outage = max((r.ended for r in records), default=fault.began) - fault.began
        detail = Counter(f"{r.kind} {r.outcome}" for r in records)
        print(f"  {fault.name}: {len(records)} failures {dict(detail)}; {outage:.1f} s of outage")
    print(f"  outside the fault windows: {len(outside)} failures {dict(Counter(f'{r.kind} {r.outcome}' for r in outside))}")
    print(f"  logins restarted after a failed step spent their transaction or code: "
          f"{dict(Counter(what for _, what in ledger.restarts))}")
    print(f"  sessions lost: {ledger.sessions_lost} during, {len(browsers) - still_signed_in} after; "
          f"refresh families invalid: {len(invalid)}, ended by a refresh answer lost with node 2: "
          f"{len(lost_responses)}")

    assert not errors, errors
    assert len(browsers) >= WORKERS * 2 and len(families) >= WORKERS * 2, "too little load to mean anything"
    assert ledger.sessions_lost == 0 and still_signed_in == len(browsers)
    assert not invalid, [f.ended for f in invalid]
    assert len(lost_responses) <= WORKERS
    assert not [r for r in ledger.records if r.outcome == 500]
    assert not outside, outside[:5]
    restarts_outside = [(at, what) for at, what in ledger.restarts
                        if not any(f.began <= at <= f.window_end + 5 for f in faults)]
    assert not restarts_outside and len(ledger.restarts) <= len(failures), ledger.restarts
    for fault in faults:
        records = by_fault[fault.name]
        assert {r.outcome for r in records} <= fault.allowed, (fault.name, records[:5])
        if fault.most is not None:
            assert len(records) <= fault.most, (fault.name, records)
    pg_fault = faults[-1]
    assert not [r for r in failures if r.started >= pg_fault.window_end], "a request failed after PostgreSQL was back"


def test_load_walk_on_sentinel(sentinel_province):
    walk(sentinel_province, "Sentinel")


def test_load_walk_on_cluster(cluster_province):
    walk(cluster_province, "Cluster")
