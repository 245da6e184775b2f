"""The identity server seen by openid-client (npm), a relying party library written elsewhere.

The node script (node/rp.mjs) discovers the issuer, builds the authorization request (PKCE S256,
state, nonce), and after the login validates the callback (state, RFC 9207 ``iss``), redeems the
code, verifies the ID token (signature, iss, aud, nonce, exp), reads userinfo, refreshes and revokes.
The person's part, the login form, is played here with ``requests``.
"""
from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
import requests

from .login_form import login_and_capture_callback

pytestmark = pytest.mark.interop

NODE_DIR = Path(__file__).resolve().parent / "node"
REDIRECT_URI = "http://127.0.0.1:9/openid-client/callback"  # never contacted: the test captures the redirect
STEP_TIMEOUT = 60


@pytest.fixture(scope="module")
def openid_client_script():
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("node and npm are needed for the openid-client interop test "
                    "(scripts/install-peers.sh installs them)")
    if not (NODE_DIR / "node_modules" / "openid-client" / "package.json").is_file():
        result = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, f"npm ci failed:\n{result.stdout}\n{result.stderr}"
    return node, NODE_DIR / "rp.mjs"


class NodeRP:
    """The node relying party as a child process speaking JSON lines."""

    def __init__(self, node: str, script: Path, env: dict):
        self.proc = subprocess.Popen([node, str(script)], cwd=script.parent, env={**os.environ, **env},
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, bufsize=1)
        self._lines: queue.Queue = queue.Queue()
        self._stderr: list[str] = []
        threading.Thread(target=self._pump, args=(self.proc.stdout, self._lines.put), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, self._stderr.append), daemon=True).start()

    @staticmethod
    def _pump(stream, sink):
        for line in stream:
            sink(line)
        sink(None)  # end of stream

    def read(self, expected_step: str) -> dict:
        try:
            line = self._lines.get(timeout=STEP_TIMEOUT)
        except queue.Empty:
            raise AssertionError(f"openid-client said nothing for {STEP_TIMEOUT}s waiting for "
                                 f"{expected_step!r}; stderr: {self.stderr}") from None
        assert line is not None, (f"openid-client exited ({self.proc.wait(5)}) before {expected_step!r}; "
                                  f"stderr: {self.stderr}")
        message = json.loads(line)
        assert message.get("step") == expected_step, f"openid-client: {json.dumps(message, ensure_ascii=False)}"
        return message

    @property
    def stderr(self) -> str:
        return "".join(line for line in self._stderr if line)

    def send(self, line: str) -> None:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def close(self) -> int | None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                return self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return self.proc.wait(10)
        return self.proc.returncode


@pytest.fixture
def run_node_rp(openid_client_script):
    node, script = openid_client_script
    started = []

    def run(env: dict) -> NodeRP:
        rp = NodeRP(node, script, env)
        started.append(rp)
        return rp

    yield run
    for rp in started:
        rp.close()


def _introspect(idp, client, token: str, hint: str | None = None) -> dict:
    data = {"token": token}
    if hint:
        data["token_type_hint"] = hint
    response = requests.post(idp.url("/introspect"), data=data, auth=(client.client_id, client.client_secret),
                             timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def _full_flow(idp, run_node_rp, client, *, scope="openid profile"):
    rp = run_node_rp({"RP_ISSUER": idp.issuer, "RP_CLIENT_ID": client.client_id,
                      "RP_CLIENT_SECRET": client.client_secret or "", "RP_REDIRECT_URI": REDIRECT_URI,
                      "RP_SCOPE": scope})
    start = rp.read("authorize")
    assert start["issuer"] == idp.issuer
    with requests.Session() as browser:
        callback = login_and_capture_callback(browser, start["url"], username=idp.person.id_number,
                                              password=idp.person.password, redirect_uri=REDIRECT_URI)
    rp.send(callback)
    tokens = rp.read("tokens")
    return rp, start, callback, tokens


def _assert_tokens(idp, client, start, tokens):
    claims = tokens["id_token_claims"]
    assert claims["iss"] == idp.issuer
    assert claims["aud"] == client.client_id or client.client_id in claims["aud"]
    assert claims["nonce"] == start["nonce"]
    assert isinstance(claims["sub"], str) and claims["sub"]
    assert claims["name"] == idp.person.name
    assert claims.get("acr"), f"no acr in the ID token: {claims}"
    assert tokens["token_type"].lower() == "bearer"
    assert tokens["userinfo"]["sub"] == claims["sub"]
    assert tokens["userinfo"].get("name") == idp.person.name
    refreshed = tokens["refreshed"]
    assert refreshed["access_token"] and refreshed["access_token"] != tokens["access_token"]
    assert refreshed["refresh_token"] and refreshed["refresh_token"] != tokens["refresh_token"], \
        "refresh tokens rotate on use"
    if refreshed["id_token_claims"] is not None:
        assert refreshed["id_token_claims"]["sub"] == claims["sub"]


def _userinfo_status(idp, access_token: str) -> int:
    return requests.get(idp.url("/userinfo"), headers={"Authorization": f"Bearer {access_token}"},
                        timeout=10).status_code


def test_confidential_client_secret_basic(live_idp, run_node_rp):
    client = live_idp.register_client(name="openid-client 机密客户端", redirect_uris=[REDIRECT_URI],
                                      scopes=["openid", "profile"], auth_method="client_secret_basic")
    rp, start, callback, tokens = _full_flow(live_idp, run_node_rp, client)
    assert f"iss={requests.utils.quote(live_idp.issuer, safe='')}" in callback
    _assert_tokens(live_idp, client, start, tokens)

    new_access, new_refresh = tokens["refreshed"]["access_token"], tokens["refreshed"]["refresh_token"]
    before = _introspect(live_idp, client, new_access)
    assert before["active"] is True and before["client_id"] == client.client_id
    assert before["sub"] == tokens["id_token_claims"]["sub"]
    assert _introspect(live_idp, client, new_refresh, "refresh_token")["active"] is True
    # The rotated-out refresh token is no longer usable.
    assert _introspect(live_idp, client, tokens["refresh_token"], "refresh_token")["active"] is False

    rp.send("revoke")
    revoked = rp.read("revoked")
    assert revoked["token"] == new_refresh
    assert rp.close() == 0
    assert _introspect(live_idp, client, new_refresh, "refresh_token") == {"active": False}
    # RFC 7009 2.1: revoking the refresh token also ends the access tokens of the same grant.
    assert _introspect(live_idp, client, new_access) == {"active": False}
    assert _userinfo_status(live_idp, new_access) == 401


def test_public_client_none_with_pkce(live_idp, run_node_rp):
    client = live_idp.register_client(name="openid-client 公共客户端", redirect_uris=[REDIRECT_URI],
                                      scopes=["openid", "profile"], public=True)
    assert client.client_secret is None
    rp, start, callback, tokens = _full_flow(live_idp, run_node_rp, client)
    assert "code_challenge=" in start["url"] and "code_challenge_method=S256" in start["url"]
    _assert_tokens(live_idp, client, start, tokens)

    new_access, new_refresh = tokens["refreshed"]["access_token"], tokens["refreshed"]["refresh_token"]
    assert _userinfo_status(live_idp, new_access) == 200
    rp.send("revoke")
    assert rp.read("revoked")["token"] == new_refresh
    assert rp.close() == 0
    # Introspection needs a confidential client, so a public client's revocation shows at userinfo
    # and at the token endpoint.
    assert _userinfo_status(live_idp, new_access) == 401
    reuse = requests.post(live_idp.url("/token"), data={"grant_type": "refresh_token", "refresh_token": new_refresh,
                                                        "client_id": client.client_id}, timeout=10)
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant", reuse.text


def test_login_page_rejects_wrong_password_for_openid_client(live_idp, run_node_rp):
    """The same library's request, with a wrong password: no code reaches the client."""
    client = live_idp.register_client(name="openid-client 错误密码", redirect_uris=[REDIRECT_URI], public=True)
    rp = run_node_rp({"RP_ISSUER": live_idp.issuer, "RP_CLIENT_ID": client.client_id, "RP_CLIENT_SECRET": "",
                      "RP_REDIRECT_URI": REDIRECT_URI})
    start = rp.read("authorize")
    with requests.Session() as browser, pytest.raises(AssertionError, match="401"):
        login_and_capture_callback(browser, start["url"], username=live_idp.person.id_number,
                                   password="not the password", redirect_uri=REDIRECT_URI)
