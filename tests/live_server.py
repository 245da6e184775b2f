"""The identity server running for real on a loopback port, for tests that drive it over HTTP.

    with LiveServer(tmp_path) as idp:
        person = idp.seed_person()
        rp = idp.register_client(name="部门门户", redirect_uris=["http://127.0.0.1:9/cb"])
        requests.get(idp.url("/.well-known/openid-configuration"))

The socket is bound to an ephemeral port before the app is built, so the issuer names the port the
server really listens on and no other process can take it in between. The app gets a fresh SQLite
database in the given directory unless the settings (``database_url=...``) or an ephemeral ``store``
say otherwise. ``stop()`` (or leaving the ``with`` block) shuts the server down, joins its thread and
closes the app's database connections.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from werkzeug.serving import make_server

from idp import create_app
from idp.config import Settings
from idp.migrate import upgrade

DEFAULT_ID_NUMBER = "11010519491231002X"
DEFAULT_NAME = "张三"
DEFAULT_PASSWORD = "correct horse battery"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _placeholder_app(environ, start_response):  # pragma: no cover - replaced before serving
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"starting"]


class ServerThread:
    """Runs any WSGI app on an ephemeral loopback port; the app may be set after the port is known."""

    def __init__(self, app=None, host: str = "127.0.0.1"):
        if host not in LOOPBACK_HOSTS:
            raise ValueError("test servers listen on loopback addresses only")
        self._server = make_server(host, 0, app or _placeholder_app, threaded=True)
        self.host, self.port = host, self._server.server_port
        self.base_url = f"http://{'[::1]' if host == '::1' else host}:{self.port}"
        self._thread: threading.Thread | None = None

    @property
    def app(self):
        return self._server.app

    @app.setter
    def app(self, value) -> None:
        self._server.app = value

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> "ServerThread":
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"wsgi-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout)
            alive, self._thread = self._thread.is_alive(), None
            if alive:
                raise RuntimeError(f"the server on port {self.port} did not stop within {timeout}s")
        self._server.server_close()

    def __enter__(self) -> "ServerThread":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@dataclass
class SeededPerson:
    id_number: str
    name: str
    password: str
    public_id: str


@dataclass
class SeededClient:
    client_id: str
    client_secret: str | None
    redirect_uris: list[str]
    name: str


class LiveServer:
    """One identity server on ``host`` (loopback only), with a database under ``directory``."""

    def __init__(self, directory, *, host: str = "127.0.0.1", issuer_host: str | None = None, store=None,
                 **overrides):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.host = host
        self._wsgi = ServerThread(host=host)
        self.port = self._wsgi.port
        name = issuer_host or host
        if ":" in name:
            name = f"[{name}]"
        self.issuer = f"http://{name}:{self.port}"
        values = dict(issuer=self.issuer, secret_key="live-server-secret-" + "x" * 32,
                      database_url=f"sqlite:///{self.directory}/idp.db", session_backend="sql",
                      login_slowdown=False)
        values.update(overrides)
        self.settings = Settings.from_env({}, **values)
        try:
            self.app = create_app(self.settings, store=store)
            upgrade(self.app)
            with self.app.app_context():
                self.app.extensions["idp"].keys.ensure_active_keys()
        except BaseException:
            self._wsgi.stop()
            raise
        self._wsgi.app = self.app

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> "LiveServer":
        if not self._wsgi.running:
            self._wsgi.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._wsgi.stop(timeout)
        notifier = getattr(self.app.extensions["idp"], "notifier", None)
        if notifier is not None:
            notifier.wait_idle(5)
        from idp.extensions import db
        with self.app.app_context():
            db.engine.dispose()

    @property
    def running(self) -> bool:
        return self._wsgi.running

    def __enter__(self) -> "LiveServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- helpers ---------------------------------------------------------------------------------
    def url(self, path: str = "/") -> str:
        return self.issuer + path

    def seed_person(self, *, id_number: str = DEFAULT_ID_NUMBER, name: str = DEFAULT_NAME,
                    password: str = DEFAULT_PASSWORD, **fields) -> SeededPerson:
        from idp.identity.service import create_person

        with self.app.app_context():
            person = create_person(id_number=id_number, name=name, password=password, **fields)
            return SeededPerson(id_number=person.id_number, name=person.name, password=password,
                                public_id=person.public_id)

    def register_client(self, *, name: str, redirect_uris: list[str], **options) -> SeededClient:
        from idp.clients.service import register_client

        with self.app.app_context():
            registered = register_client(name=name, redirect_uris=list(redirect_uris), **options)
            return SeededClient(client_id=registered.client.client_id, client_secret=registered.client_secret,
                                redirect_uris=list(registered.client.redirect_uris), name=registered.client.name)
