"""The production entry point: the Dockerfile's own gunicorn command (its CMD, with its
WEB_CONCURRENCY) serving ``idp.wsgi:app`` on loopback; concurrent token requests on SQLite, every
token issued once and audited once, by all the workers together."""
from __future__ import annotations

import json
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from idp.audit import log as audit_log
from idp.audit.models import AuditEvent
from idp.audit.verification import check
from idp.jobs import lease
from idp.extensions import db

import helpers

ROOT = Path(__file__).resolve().parents[2]
SECRET = "gunicorn-test-secret-" + "y" * 32


def dockerfile_command(port: int) -> tuple[list[str], dict]:
    """The Dockerfile's CMD (exec form) bound to loopback, and the ENV values gunicorn reads."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    [cmd] = [json.loads(line[len("CMD "):]) for line in text.splitlines() if line.startswith("CMD ")]
    env_lines = " ".join(line for line in text.splitlines() if line.startswith("ENV "))
    env = dict(re.findall(r"(WEB_CONCURRENCY|GUNICORN_CMD_ARGS)=(\S+)", env_lines))
    assert cmd[0] == "gunicorn" and cmd[-1] == "idp.wsgi:app", cmd
    bind = cmd.index("--bind")
    cmd[bind + 1] = f"127.0.0.1:{port}"
    cmd[0] = str(Path(sys.executable).with_name("gunicorn"))
    return cmd, env


@pytest.fixture
def gunicorn_server(tmp_path):
    port = helpers.free_port()
    settings = helpers.make_settings(tmp_path, issuer=f"http://127.0.0.1:{port}", secret_key=SECRET)
    app, credentials = helpers.app_with_batch_client(settings)
    command, image_env = dockerfile_command(port)
    # the job runner of the workers: sealing every second, leases short enough to see hand-overs
    env = helpers.server_environ(settings, IDP_AUDIT_SEAL_SECONDS="1", IDP_JOB_LEASE_SECONDS="3", **image_env)
    with helpers.serving(command, env, settings.issuer):
        yield app, settings.issuer, credentials


def test_concurrent_client_credentials_through_gunicorn(gunicorn_server):
    app, issuer, (client_id, secret) = gunicorn_server

    def token(_):
        response = requests.post(issuer + "/token", auth=(client_id, secret), timeout=30,
                                 data={"grant_type": "client_credentials", "scope": "profile"})
        return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(token, range(48)))
    assert [status for status, _ in results] == [200] * 48, results[:3]
    keys = KeySet.import_key_set(requests.get(issuer + "/jwks.json", timeout=5).json())
    access_tokens = {body["access_token"] for _, body in results}
    assert len(access_tokens) == 48
    for value in access_tokens:
        claims = jwt.decode(value, keys).claims
        assert claims["iss"] == issuer and claims["client_id"] == client_id

    with app.app_context():
        issued = db.session.query(AuditEvent).filter_by(event="token.issued").count()
        ok, problems = audit_log.verify()
    assert issued == 48
    assert ok, problems
    # one of the workers holds the sealing job and chains the records; the chain verifies
    deadline = time.monotonic() + 30
    while True:
        with app.app_context():
            report = check()
            holders = lease.holders(db.engine)
        if report.unsealed == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert report.ok and report.unsealed == 0 and report.sealed >= 48, report.as_dict()
    assert report.newest_checkpoint is not None and report.newest_checkpoint.seq == report.head
    assert set(holders) >= {"audit.seal", "backchannel.retry", "keys.transitions"}
    seal_holder = holders["audit.seal"][0]
    assert seal_holder is not None and int(seal_holder.split(":")[1]) != os.getpid()  # a gunicorn worker
    with app.app_context():  # the workers started together on a database without keys
        states = sorted((k.alg, k.status) for k in app.extensions["idp"].keys.list_keys())
    assert states == [("ES256", "active"), ("RS256", "active")]
