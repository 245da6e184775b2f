"""Test helpers: settings for a fresh app, a browser-like client, a registered relying party."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from idp import create_app  # noqa: F401  (re-exported to the fixtures)
from idp.config import Settings
from idp.migrate import upgrade  # noqa: F401  (re-exported to the fixtures)

ROOT = Path(__file__).resolve().parents[1]
ISSUER = "http://localhost"
CITIZEN_ID = "11010519491231002X"
CITIZEN_PASSWORD = "correct horse battery"


def free_port() -> int:
    """A loopback port free at the moment of asking (for servers started in a child process)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_settings(tmp_path, **overrides) -> Settings:
    values = dict(issuer=ISSUER, secret_key="test-secret-" + "x" * 32,
                  database_url=f"sqlite:///{tmp_path}/idp.db", session_backend="sql", login_slowdown=False)
    values.update(overrides)
    return Settings.from_env({}, **values)


class DemoPki:
    """The demo PKI of ``idp.pki.demo`` generated into a directory: certificates, keys, trust profiles."""

    def __init__(self, root: Path, manifest: dict) -> None:
        self.root, self.manifest, self.profiles = root, manifest, root / "profiles"

    @classmethod
    def generate(cls, root: Path) -> "DemoPki":
        from idp.pki import demo
        return cls(root, demo.generate(root, root / "profiles"))

    def entry(self, ca: str, role: str) -> dict:
        for item in self.manifest["certificates"]:
            if item["ca"] == ca and item["role"] == role:
                return item
        raise KeyError((ca, role))

    def read(self, rel: str) -> bytes:
        return (self.root / rel).read_bytes()

    def cert(self, ca: str, role: str) -> bytes:
        return self.read(self.entry(ca, role)["cert"])

    def chain(self, ca: str, role: str) -> list[bytes]:
        return [self.read(p) for p in self.entry(ca, role)["chain"]]

    def store(self, **kwargs):
        from idp.pki import TrustStore
        return TrustStore.from_directory(self.profiles, **kwargs)

    def sign(self, ca: str, role: str, text: str) -> dict:
        """What the signing software answers: certificate, chain, base64 signature and algorithm."""
        from idp.pki.signer import sign_challenge
        entry = self.entry(ca, role)
        return sign_challenge(text.encode(), key=self.read(entry["key"]), cert=self.read(entry["cert"]),
                              chain=self.chain(ca, role), password="demo")


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in page"
    return match.group(1)


def query_of(location: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


class Browser:
    """Drives the authorization endpoint and the login page like a person's browser."""

    def __init__(self, client):
        self.client = client

    def authorize(self, **params):
        return self.client.get("/authorize?" + urlencode(params))

    def login(self, login_location: str, username=CITIZEN_ID, password=CITIZEN_PASSWORD):
        page = self.client.get(login_location)
        assert page.status_code == 200, page.data
        tx = query_of(login_location).get("tx")
        form = {"csrf_token": csrf_token(page.get_data(as_text=True)), "username": username, "password": password}
        if tx:
            form["tx"] = tx
        return self.client.post("/login", data=form)

    def authorize_and_login(self, **params):
        """Returns the final redirect to the client (Location header) after logging in if needed."""
        response = self.authorize(**params)
        if response.status_code == 302 and "/login" in response.headers["Location"]:
            response = self.login(response.headers["Location"])
            assert response.status_code == 302, response.get_data(as_text=True)
            response = self.client.get(response.headers["Location"])
        return response


REDIRECT_A = "http://localhost:9001/oidc/callback"
REDIRECT_B = "http://localhost:9002/oidc/callback"


class RP:
    """A registered client plus helpers to run the code flow against the test app."""

    def __init__(self, app, browser, client_id, secret, redirect_uri, scope="openid profile"):
        self.app, self.browser = app, browser
        self.client_id, self.secret, self.redirect_uri, self.scope = client_id, secret, redirect_uri, scope

    @property
    def basic(self):
        return {"Authorization": "Basic " + base64.b64encode(f"{self.client_id}:{self.secret}".encode()).decode()}

    def auth_params(self, **extra):
        verifier, challenge = pkce_pair()
        params = dict(response_type="code", client_id=self.client_id, redirect_uri=self.redirect_uri,
                      scope=self.scope, state=secrets.token_urlsafe(8), nonce=secrets.token_urlsafe(8),
                      code_challenge=challenge, code_challenge_method="S256")
        params.update(extra)
        return params, verifier

    def get_code(self, **extra):
        params, verifier = self.auth_params(**extra)
        response = self.browser.authorize_and_login(**params)
        assert response.status_code == 302, response.get_data(as_text=True)
        query = query_of(response.headers["Location"])
        assert "code" in query, query
        assert query["state"] == params["state"]
        return query["code"], verifier, params

    def exchange(self, code, verifier, **extra):
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri}
        if verifier:
            data["code_verifier"] = verifier
        data.update(extra)
        headers = self.basic if self.secret else {}
        if not self.secret:
            data.setdefault("client_id", self.client_id)
        return self.browser.client.post("/token", data=data, headers=headers)

    def login_tokens(self, **extra):
        code, verifier, params = self.get_code(**extra)
        response = self.exchange(code, verifier)
        assert response.status_code == 200, response.get_json()
        return response.get_json(), params


def register(app, browser, name="Portal A", redirect_uri=REDIRECT_A, scopes=("openid", "profile"), **kwargs):
    from idp.clients.service import register_client
    with app.app_context():
        registered = register_client(name=name, redirect_uris=[redirect_uri], scopes=list(scopes), **kwargs)
        client_id = registered.client.client_id
    return RP(app, browser, client_id, registered.client_secret, redirect_uri, " ".join(scopes))


def decode_jwt(app, token):
    from joserfc import jwt
    with app.app_context():
        return jwt.decode(token, app.extensions["idp"].keys.public_key_set())


def start_workers_at_once(settings, count=2):
    """``count`` apps (as gunicorn workers) on one database without keys run ``ensure_active_keys``,
    each having looked for an active key before any of them writes one. Returns the apps, the
    exceptions the workers raised and the (RS256, ES256) kids each one signs with."""
    import pytest
    from idp.keys.service import KeyManager
    apps = [create_app(settings) for _ in range(count)]
    all_looked = threading.Barrier(count, timeout=20)
    original = KeyManager._create
    first_call = threading.local()

    def create(self, alg, status):
        if not getattr(first_call, "seen", False):
            first_call.seen = True
            all_looked.wait()
        return original(self, alg, status)

    errors, kids = [], []

    def start(app):
        try:
            with app.app_context():
                manager = app.extensions["idp"].keys
                manager.ensure_active_keys()
                kids.append((manager.signing_key("RS256").kid, manager.signing_key("ES256").kid))
        except Exception as exc:  # the caller asserts there were none
            errors.append(exc)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(KeyManager, "_create", create)
        threads = [threading.Thread(target=start, args=(app,)) for app in apps]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return apps, errors, kids


# -- servers in child processes ------------------------------------------------------------------------

def app_with_batch_client(settings):
    """A migrated app for ``settings`` and a registered client_credentials client ``(id, secret)``; the
    app's connections are closed so that a server process can open the same database."""
    from idp.clients.service import register_client
    from idp.extensions import db

    app = create_app(settings)
    upgrade(app)
    with app.app_context():
        registered = register_client(name="批量对账", redirect_uris=[], scopes=["profile"],
                                     grant_types=["client_credentials"])
        credentials = (registered.client.client_id, registered.client_secret)
        db.engine.dispose()
    return app, credentials


def dockerfile_command(port: int) -> tuple[list[str], dict]:
    """The Dockerfile's CMD (exec form) bound to loopback, and the ENV values the server reads."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    [cmd] = [json.loads(line[len("CMD "):]) for line in text.splitlines() if line.startswith("CMD ")]
    env_lines = " ".join(line for line in text.splitlines() if line.startswith("ENV "))
    env = dict(re.findall(r"(GRANIAN_[A-Z_]+)=(\S+)", env_lines))
    assert cmd[0] == "granian" and cmd[-1] == "idp.wsgi:app", cmd
    cmd[cmd.index("--host") + 1] = "127.0.0.1"
    cmd[cmd.index("--port") + 1] = str(port)
    cmd[0] = str(Path(sys.executable).with_name("granian"))
    return cmd, env


def server_environ(settings, **extra) -> dict:
    """The process environment that makes a server read ``settings`` (those the tests set)."""
    environ = dict(os.environ, IDP_ISSUER=settings.issuer, IDP_SECRET_KEY=settings.secret_key,
                   IDP_DATABASE_URL=settings.database_url, IDP_SESSION_BACKEND="sql", IDP_LOGIN_SLOWDOWN="false")
    environ.update(extra)
    return environ


@contextmanager
def serving(command: list[str], env: dict, base_url: str, *, timeout: float = 60, log=None,
            process_group: bool = False):
    """Run ``command`` until the block ends: yields the process once ``base_url``/healthz answers 200
    (fails with the server's stderr if it exits first), then terminates it (kills it if it lingers).
    ``log``: a path that receives the server's stdout and stderr (its access log) instead.
    ``process_group``: the server and its workers get a process group of their own (``os.killpg`` on
    ``process.pid`` reaches them all), signalled as a whole at the end."""
    import requests

    popen = dict(cwd=ROOT, env=env, start_new_session=process_group)
    if log is not None:
        with open(log, "ab") as out:
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, **popen)
    else:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **popen)
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert process.poll() is None, (process.stderr.read().decode(errors="replace") if log is None
                                            else Path(log).read_text(errors="replace"))
            try:
                if requests.get(base_url + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, f"{command[0]} did not answer /healthz within {timeout:.0f} s"
            time.sleep(0.2)
        yield process
    finally:
        def signal_all(signum):
            if process_group:
                try:
                    os.killpg(process.pid, signum)
                except ProcessLookupError:
                    pass
            else:
                process.send_signal(signum)

        signal_all(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            signal_all(signal.SIGKILL)
            process.wait()
        if process_group:  # workers left behind by a server that was killed
            signal_all(signal.SIGKILL)


# -- the `idp` command -------------------------------------------------------------------------------

class CliResult:
    def __init__(self, code, out, err):
        self.code, self.out, self.err = code, out, err

    def json(self):
        return json.loads(self.out)


def cli_runner(capsys, monkeypatch):
    """``run(*argv, fresh=True, stdin="")``: the `idp` command's real entry point, its exit code and output.
    ``fresh`` forgets the app of an earlier command line (each is its own process in real use); ``stdin``
    is what the command reads from standard input (``idp users add --password-stdin``)."""
    import io

    import idp.cli

    def run(*argv, fresh=True, stdin=""):
        if fresh:
            monkeypatch.setattr(idp.cli.context, "_app", None)
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        capsys.readouterr()
        code = idp.cli.main(list(argv))
        out, err = capsys.readouterr()
        return CliResult(code, out, err)
    return run


def app_on(tmp_path, database: str, **overrides):
    """A migrated app with its signing keys on ``database``: "sqlite" (a file under tmp_path) or a URL."""
    if database != "sqlite":
        overrides["database_url"] = database
    app = create_app(make_settings(tmp_path, **overrides))
    app.config["TESTING"] = True
    upgrade(app)
    with app.app_context():
        app.extensions["idp"].keys.ensure_active_keys()
    return app


def dispose_app(app) -> None:
    from idp.extensions import db
    app.extensions["idp"].notifier.wait_idle(5)
    with app.app_context():
        db.engine.dispose()


class LogoutSite:
    """A relying party's logout endpoint answering with the statuses queued in ``answers``.

    ``received``: (path, form fields, Cache-Control) of each POST; ``bodies``: (Content-Type, body).
    ``reply``: what the answers' bodies are made from the request's body (empty without it)."""

    def __init__(self, answers, reply=None):
        self.answers = list(answers)
        self.received = []
        self.bodies = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                site.received.append((self.path, parse_qs(body.decode()), self.headers.get("Cache-Control")))
                site.bodies.append((self.headers.get("Content-Type"), body))
                status = site.answers.pop(0) if site.answers else 200
                answer = reply(body) if reply else b""
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "/after")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/logout"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def audit_events(app, prefix: str = "") -> list[tuple[str, dict]]:
    """The audit records whose event starts with ``prefix``, oldest first, as (event, data)."""
    from sqlalchemy import select

    from idp.audit.models import AuditEvent
    from idp.extensions import db
    with app.app_context():
        rows = db.session.execute(select(AuditEvent.event, AuditEvent.data).order_by(AuditEvent.id)).all()
        return [(event, data) for event, data in rows if event.startswith(prefix)]


def stop_process(process: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL if the process has not ended within ``timeout`` seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def enterprise_with_agent(*, uscc: str, name: str, agent: tuple[str, str, str], roles=("declarant",),
                          portals=None, representative_id: str = CITIZEN_ID):
    """In an app context: an enterprise whose legal representative (the existing person with
    ``representative_id``) has authorised a new person ``agent`` = (ID number, name, password) for
    ``roles`` at ``portals`` (None: every portal) for five days, and the agent has accepted.
    Returns (the enterprise, the agent, the authorisation)."""
    from datetime import datetime, timedelta, timezone

    from idp.authn.result import ACR_CERTIFICATE
    from idp.identity import authorisations
    from idp.identity.service import create_entity, create_person, find_person_by_id_number, link_representative
    agent_id, agent_name, agent_password = agent
    entity = create_entity(uscc=uscc, name=name)
    link_representative(uscc=uscc, id_number=representative_id, role="legal_representative")
    person = create_person(id_number=agent_id, name=agent_name, password=agent_password)
    granted = authorisations.grant(
        granter_id=find_person_by_id_number(representative_id).id, acr=ACR_CERTIFICATE, entity_id=entity.id,
        agent_id_number=agent_id, agent_name=agent_name, roles=list(roles), portals=portals,
        valid_until=datetime.now(timezone.utc) + timedelta(days=5))
    authorisations.accept(person_id=person.id, public_id=granted.public_id)
    return entity, person, granted
