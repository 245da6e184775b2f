"""The README's quick start, done as a newcomer does it: `scripts/demo.sh`, then a browser (Debian's
Chromium, headless), then the README's operator command block in a shell.

The demo runs from the repository's own script, with its ports and data directory moved (IDP_PORT,
DEMO_PORTAL_PORTS, IDP_DEMO_DIR) so that the test neither collides with a running demo nor touches
`var/`. The README's operator block runs unchanged in a directory laid out like the repository's root
for it: `.venv` (a link to the repository's) and `var/` (the demo's data). Credentials and the
commands come from README.md itself, so the test fails when the README stops being true.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from helpers import free_port

from .browser import TIMEOUT_MS

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
START_TIMEOUT = 300  # the script installs the packages first


def readme_section(title: str) -> str:
    start = README.index(title)
    end = README.find("\n## ", start + len(title))
    return README[start:end if end != -1 else None]


def sh_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, re.S)


def table_value(section: str, table: str, row: str) -> str:
    part = section[section.index(f"| {table} |"):]
    match = re.search(r"^\| " + re.escape(row) + r" \| `([^`]+)`", part, re.M)
    assert match, f"README: no {row!r} in the {table!r} table"
    return match.group(1)


QUICK_START = readme_section("## Quick start")
CITIZEN_ID = table_value(QUICK_START, "Demo citizen", "ID number (username)")
CITIZEN_PASSWORD = table_value(QUICK_START, "Demo citizen", "Password")
ADMIN_ID = table_value(QUICK_START, "Demo administrator", "ID number (username)")
ADMIN_PASSWORD = table_value(QUICK_START, "Demo administrator", "Password")


def command_lines(block: str) -> list[str]:
    """The commands of a shell block, comments dropped, continuation lines joined."""
    joined = block.replace("\\\n", " ")
    return [line.split("  #")[0].strip() for line in joined.splitlines() if line.strip()]


class Demo:
    def __init__(self, home: Path):
        self.home = home  # stands for the repository's root in the operator block
        self.var = home / "var"
        self.port, self.portal_ports = free_port(), (free_port(), free_port())
        self.issuer = f"http://localhost:{self.port}"
        self.portals = [f"http://localhost:{port}" for port in self.portal_ports]
        self.log = home / "demo.log"
        self.process: subprocess.Popen | None = None

    def environment(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "DEMO_PORTAL_", "VIRTUAL_ENV"))}
        env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
        return env

    def start(self) -> None:
        (self.home / ".venv").symlink_to(ROOT / ".venv")
        env = {**self.environment(), "IDP_PORT": str(self.port),
               "DEMO_PORTAL_PORTS": ",".join(map(str, self.portal_ports)), "IDP_DEMO_DIR": str(self.var)}
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen([str(ROOT / "scripts" / "demo.sh")], env=env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        pending = [self.issuer + "/healthz", *(p + "/" for p in self.portals)]
        while pending:
            if self.process.poll() is not None:
                raise AssertionError(f"scripts/demo.sh exited: {self.log.read_text(errors='replace')[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"the demo did not start: {self.log.read_text(errors='replace')[-3000:]}")
            try:
                if requests.get(pending[0], timeout=2).status_code == 200:
                    pending.pop(0)
                    continue
            except requests.RequestException:
                pass
            time.sleep(0.5)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        # the portals are children in the same process group: none may outlive the demo
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return
        os.killpg(self.process.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    running = Demo(tmp_path_factory.mktemp("newcomer"))
    try:
        running.start()
        yield running
    finally:
        running.stop()


def test_quick_start_has_two_commands():
    blocks = sh_blocks(QUICK_START)
    assert [line.split()[0] for line in command_lines(blocks[0])] == ["scripts/demo.sh", "scripts/test.sh"]


def open_page(page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("load")


# Contrast ratio (WCAG 2.x) of every visible text against the first opaque background behind it.
CONTRAST_JS = """() => {
  const channels = c => c.match(/[\\d.]+/g).map(Number);
  const luminance = c => {
    const [r, g, b] = channels(c).slice(0, 3).map(v => { v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const background = el => {
    for (; el; el = el.parentElement) {
      const c = getComputedStyle(el).backgroundColor, v = channels(c);
      if (v.length < 4 || v[3] > 0) return c;
    }
    return "rgb(255, 255, 255)";
  };
  const found = [];
  for (const el of document.querySelectorAll("body *")) {
    const text = [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent.trim()).join("");
    if (!text || !el.checkVisibility()) continue;
    const a = luminance(getComputedStyle(el).color), b = luminance(background(el));
    found.push([text.slice(0, 40), (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)]);
  }
  return found;
}"""


def assert_readable(page) -> None:
    texts = page.evaluate(CONTRAST_JS)
    assert texts
    low = [(text, round(ratio, 2)) for text, ratio in texts if ratio < 4.5]
    assert not low, f"text under WCAG AA contrast (4.5:1) on {page.url}: {low}"


def test_single_sign_on_walk_through(chromium, demo):
    """README: open portal 9001, log in as the demo citizen, open portal 9002: already logged in; log out
    at either portal and both sessions end."""
    first, second = demo.portals
    context = chromium.new_context(locale="zh-CN")
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        login_pages = []
        page.on("request", lambda req: login_pages.append(req.url)
                if req.url.split("?")[0] == demo.issuer + "/login" else None)

        open_page(page, first + "/")
        assert page.url == first + "/"
        assert "您尚未登录" in page.inner_text("#status") and "You are not signed in" in page.inner_text("#status")
        assert_readable(page)
        page.click("#login")
        page.wait_for_url(demo.issuer + "/login*")
        page.fill("#username", CITIZEN_ID)
        page.fill("#password", CITIZEN_PASSWORD)
        page.click("form[action$='/login'] button[type=submit]")
        page.wait_for_url(first + "/profile")
        assert page.inner_text("#name").strip() == "张三"
        assert not page.locator("#sub").is_visible()  # developer fields are folded away
        assert_readable(page)
        page.click("#technical summary")
        assert page.locator("#sub").is_visible() and page.inner_text("#acr") == "urn:idp:loa:1"
        typed = len(login_pages)

        open_page(page, second + "/")  # portal 9002, first visit: no click
        assert page.url == second + "/"
        assert page.inner_text("#name").strip() == "张三"
        assert "You are signed in" in page.inner_text("#status")
        assert_readable(page)
        assert len(login_pages) == typed, "portal 9002 showed the login page: no single sign-on"

        page.click("#logout")  # log out at portal 9002: through the identity server back to its home page
        page.wait_for_url(lambda url: url.startswith(second + "/") and "/oidc/" not in url)
        page.wait_for_load_state("load")
        assert "您尚未登录" in page.inner_text("#status")

        open_page(page, first + "/")  # portal 9001's session ended too
        assert page.url == first + "/" and "您尚未登录" in page.inner_text("#status")
        open_page(page, first + "/profile")
        assert page.url.startswith(demo.issuer + "/login"), page.url
    finally:
        context.close()


def test_admin_walk_through(chromium, demo):
    """README: the demo administrator opens the admin console and finds the demo portals there."""
    assert "http://localhost:8000/admin/" in QUICK_START
    context = chromium.new_context(locale="zh-CN")
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        open_page(page, demo.issuer + "/admin/")
        assert page.url.startswith(demo.issuer + "/login?"), page.url
        page.fill("#username", ADMIN_ID)
        page.fill("#password", ADMIN_PASSWORD)
        page.click("form[action$='/login'] button[type=submit]")
        page.wait_for_url(demo.issuer + "/admin/")
        assert "客户端" in page.inner_text("h1")
        body = page.inner_text("body")
        assert "社保服务门户" in body and "公积金服务门户" in body
    finally:
        context.close()


def test_readme_operator_block_runs_against_the_demo(demo):
    stray = ROOT / "var" / "idp.db"
    existed = stray.exists()
    block = sh_blocks(readme_section("### Operator commands"))[0]
    lines = command_lines(block)
    assert lines[:2] == [". .venv/bin/activate", "export IDP_ENV_FILE=var/demo.env"]
    completed = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", block], cwd=demo.home,
                               env=demo.environment(), capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    out = completed.stdout
    assert "client_secret:" in out and "initial access token:" in out and "audit chain intact" in out
    assert "李四" in out and "is an administrator" in out
    assert f"trust profiles in {demo.var}/pki/profiles" in out
    assert re.search(r"^IDP_SECRET_KEY\s+\*{8}\s+file var/demo.env", out, re.M), out
    assert re.search(rf"^IDP_ISSUER\s+{re.escape(demo.issuer)}\s+file var/demo.env", out, re.M)
    exported = [json.loads(line) for line in (demo.home / "audit.jsonl").read_text().splitlines()]
    assert [line["event"] for line in exported if "event" in line]  # then the checkpoints and their keys
    # everything happened in the demo's database; no other database file appeared
    assert not (demo.home / "var" / "idp.db").exists() and stray.exists() == existed
    check = subprocess.run([str(ROOT / ".venv" / "bin" / "idp"), "clients", "list", "--json"], cwd=demo.home,
                           env={**demo.environment(), "IDP_ENV_FILE": "var/demo.env"},
                           capture_output=True, text=True, timeout=120)
    assert {"Portal C", "社保服务门户 Social Security Portal"} <= {c["client_name"] for c in json.loads(check.stdout)}
