"""Fixtures for tests that drive the identity server with real third-party peers.

``live_idp`` is the identity server running on an ephemeral loopback port with a fresh database and
one person seeded (``live_idp.person``); tests register the clients they need with
``live_idp.register_client(...)``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from live_server import LiveServer  # noqa: E402

from .browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, CspViolations  # noqa: E402


@pytest.fixture
def live_idp(tmp_path):
    with LiveServer(tmp_path / "idp") as server:
        server.person = server.seed_person(phone="13800138000", email="zhangsan@example.gov.cn")
        yield server


@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (scripts/install-peers.sh installs Debian's chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright for Python is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def csp_page(chromium):
    """A fresh Chromium page (zh-CN) whose Content-Security-Policy violations fail the test: call
    ``page.csp.check()`` at the end; any violation left unchecked fails the teardown too (a form the
    policy blocked usually shows first as a wait that timed out)."""
    context = chromium.new_context(locale="zh-CN")
    violations = CspViolations(context)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.csp = violations
    try:
        yield page
    finally:
        seen = list(violations.seen)
        context.close()
    assert not seen, "Content-Security-Policy violations:\n" + "\n".join(seen)
