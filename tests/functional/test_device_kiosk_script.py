"""The demo kiosk (scripts/device_kiosk.py) against a running server: it finds the endpoints by discovery,
shows the code, and polls until the person at a browser approves or denies."""
from __future__ import annotations

import re
import subprocess
import sys
from urllib.parse import urljoin

import pytest
import requests

from helpers import ROOT, csrf_token
from live_server import LiveServer

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def idp(tmp_path):
    with LiveServer(tmp_path / "idp") as server:
        server.person = server.seed_person()
        yield server


def _answer_in_browser(person, verification_uri_complete: str, decision: str) -> str:
    """A person's browser: open the link, log in when asked, confirm the code, allow or deny."""
    with requests.Session() as browser:
        browser.headers["Accept-Language"] = "en"
        page = browser.get(verification_uri_complete, timeout=10)  # the login page, then back here
        assert "/login" in page.history[0].headers["Location"]
        back = browser.post(page.url, data={"csrf_token": csrf_token(page.text), "username": person.id_number,
                                            "password": person.password}, timeout=10)  # /login?next=...
        assert back.url == verification_uri_complete, back.url
        user_code = re.search(r'name="user_code" value="([^"]+)"', back.text).group(1)
        confirm = browser.post(urljoin(back.url, "/device"), data={"csrf_token": csrf_token(back.text),
                                                                   "user_code": user_code}, timeout=10)
        assert confirm.status_code == 200, confirm.text
        done = browser.post(urljoin(back.url, "/device/decision"),
                            data={"csrf_token": csrf_token(confirm.text), "user_code": user_code,
                                  "decision": decision}, timeout=10)
        assert done.status_code == 200, done.text
        return done.text


@pytest.mark.parametrize("decision, status, said", [("allow", 0, "welcome, 张三"),
                                                     ("deny", 2, "the request was denied")])
def test_the_kiosk_script(idp, decision, status, said):
    kiosk = idp.register_client(name="自助机", redirect_uris=[], public=True, scopes=["openid", "profile"],
                                grant_types=[DEVICE_GRANT])
    process = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "device_kiosk.py"), idp.issuer,
                                f"--client-id={kiosk.client_id}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        shown = []
        for line in process.stdout:
            shown.append(line)
            if line.startswith("(") and "/device?user_code=" in line:
                break
        link = re.search(r"(http://\S+/device\?user_code=[A-Z-]+)", "".join(shown))
        assert link, "".join(shown) + process.stderr.read()
        assert re.search(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}", "".join(shown))
        _answer_in_browser(idp.person, link.group(1), decision)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == status, out + err
    assert said in out
