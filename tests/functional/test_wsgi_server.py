"""The production entry point: the Dockerfile's own server command (its CMD, with its GRANIAN_* ENV
values) serving ``idp.wsgi:app`` on loopback. Concurrent token requests on SQLite, every token issued
once and audited once; keep-alive connections; the limits on request headers and bodies; requests in
progress finished on SIGTERM; ``X-Forwarded-Proto`` believed from a trusted proxy only; the access log."""
from __future__ import annotations

import base64
import http.client
import os
import re
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.audit import log as audit_log
from idp.audit.models import AuditEvent
from idp.audit.verification import check
from idp.extensions import db
from idp.jobs import lease

import helpers
from helpers import dockerfile_command

SECRET = "server-test-secret-" + "y" * 32
TOKEN_FORM = {"grant_type": "client_credentials", "scope": "profile"}
PUBLIC_HOST = {"Host": "id.example.gov.cn", "X-Forwarded-Proto": "https"}


class Server:
    def __init__(self, app, issuer, credentials, process, log):
        self.app, self.issuer, self.credentials, self.process, self.log = app, issuer, credentials, process, log
        self.port = int(issuer.rsplit(":", 1)[1])


def _serve(tmp_path, **env):
    port = helpers.free_port()
    settings = helpers.make_settings(tmp_path, issuer=f"http://127.0.0.1:{port}", secret_key=SECRET)
    app, credentials = helpers.app_with_batch_client(settings)
    command, image_env = dockerfile_command(port)
    log = tmp_path / "server.log"
    serving = helpers.serving(command, helpers.server_environ(settings, **image_env, **env), settings.issuer, log=log)
    return serving, (app, settings.issuer, credentials, log)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The Dockerfile's server behind a TLS proxy on loopback that it trusts (IDP_TRUSTED_PROXIES)."""
    # the workers' job runner seals every second, with leases short enough to see hand-overs
    serving, (app, issuer, credentials, log) = _serve(tmp_path_factory.mktemp("server"),
                                                      IDP_TRUSTED_PROXIES="127.0.0.1",
                                                      IDP_AUDIT_SEAL_SECONDS="1", IDP_JOB_LEASE_SECONDS="3")
    with serving as process:
        yield Server(app, issuer, credentials, process, log)


def test_concurrent_client_credentials(server):
    def token(_):
        response = requests.post(server.issuer + "/token", auth=server.credentials, timeout=30, data=TOKEN_FORM)
        return response.status_code, response.json()

    with server.app.app_context():
        issued_before = db.session.query(AuditEvent).filter_by(event="token.issued").count()
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(token, range(48)))
    assert [status for status, _ in results] == [200] * 48, results[:3]
    keys = KeySet.import_key_set(requests.get(server.issuer + "/jwks.json", timeout=5).json())
    access_tokens = {body["access_token"] for _, body in results}
    assert len(access_tokens) == 48
    for value in access_tokens:
        claims = jwt.decode(value, keys).claims
        assert claims["iss"] == server.issuer and claims["client_id"] == server.credentials[0]

    with server.app.app_context():
        issued = db.session.query(AuditEvent).filter_by(event="token.issued").count()
        ok, problems = audit_log.verify()
    assert issued - issued_before == 48
    assert ok, problems
    # one of the server's workers holds the sealing job and chains the records; the chain verifies
    deadline = time.monotonic() + 30
    while True:
        with server.app.app_context():
            report = check()
            holders = lease.holders(db.engine)
        if report.unsealed == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert report.ok and report.unsealed == 0 and report.sealed >= 48, report.as_dict()
    assert report.newest_checkpoint is not None and report.newest_checkpoint.seq == report.head
    assert set(holders) >= {"audit.seal", "backchannel.retry", "keys.transitions"}
    seal_holder = holders["audit.seal"][0]
    assert seal_holder is not None and int(seal_holder.split(":")[1]) != os.getpid()  # a server worker
    with server.app.app_context():  # the workers started together on a database without keys
        states = sorted((k.alg, k.status) for k in server.app.extensions["idp"].keys.list_keys())
    assert states == [("ES256", "active"), ("RS256", "active")]


def test_keep_alive_connection_serves_many_requests(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        statuses, sockets = [], set()
        for path in ("/healthz", "/jwks.json", "/.well-known/openid-configuration", "/healthz"):
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
            sockets.add(id(conn.sock))
        assert statuses == [200] * 4 and len(sockets) == 1
    finally:
        conn.close()


def test_request_size_limits(server):
    too_large = requests.post(server.issuer + "/token", auth=server.credentials, timeout=30,
                              data={**TOKEN_FORM, "pad": "x" * (2 * 1024 * 1024)})
    assert too_large.status_code == 413 and too_large.json()["error"] == "invalid_request"
    assert requests.get(server.issuer + "/healthz", headers={"X-Pad": "x" * 8000}, timeout=10).status_code == 200
    # headers past the server's 64 KiB buffer are refused before the application sees them
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"x" * 100_000 + b"\r\n\r\n")
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
    assert not answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert answer == b"" or re.match(rb"HTTP/1.1 4\d\d", answer), answer[:200]


def test_forwarded_proto_believed_from_the_trusted_proxy(server):
    response = requests.post(server.issuer + "/token", auth=server.credentials, data=TOKEN_FORM,
                             headers=PUBLIC_HOST, timeout=10)
    assert response.status_code == 200, response.text
    plain = requests.post(server.issuer + "/token", auth=server.credentials, data=TOKEN_FORM,
                          headers={"Host": PUBLIC_HOST["Host"]}, timeout=10)
    assert plain.status_code == 400 and plain.json()["error_description"] == "HTTPS required"


def test_access_log_names_each_request(server):
    requests.get(server.issuer + "/healthz?access-log-probe=1", timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if re.search(r'"GET /healthz(\?access-log-probe=1)? HTTP/1\.1" 200', server.log.read_text(errors="replace")):
            return
        time.sleep(0.2)
    pytest.fail("no access log line for the request:\n" + server.log.read_text(errors="replace")[-2000:])


def test_sigterm_finishes_the_request_in_progress_and_no_proxy_is_trusted_by_default(tmp_path):
    serving, (app, issuer, (client_id, secret), log) = _serve(tmp_path)
    with serving as process:
        # no IDP_TRUSTED_PROXIES: a proxy's X-Forwarded-Proto is not believed, even from loopback
        response = requests.post(issuer + "/token", auth=(client_id, secret), data=TOKEN_FORM,
                                 headers=PUBLIC_HOST, timeout=10)
        assert response.status_code == 400 and response.json()["error_description"] == "HTTPS required"

        body = b"grant_type=client_credentials&scope=profile"
        credentials = base64.b64encode(f"{client_id}:{secret}".encode())
        with socket.create_connection(("127.0.0.1", int(issuer.rsplit(":", 1)[1])), timeout=30) as sock:
            sock.sendall(b"POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic " + credentials
                         + b"\r\nContent-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n"
                         + b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])
            time.sleep(0.5)
            process.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            sock.sendall(body[10:])
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
        assert b'"access_token"' in answer
        assert process.wait(timeout=30) == 0
