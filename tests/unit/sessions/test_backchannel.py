"""Background delivery of logout messages: retries on failures, none on a refusal, redirects for CAS."""
from __future__ import annotations

import pytest

from idp.sessions.backchannel import BackchannelNotifier


def _notifier(retries=3):
    return BackchannelNotifier(timeout=2, retries=retries, backoff=0.01)


def test_a_logout_token_is_posted_once_when_the_site_accepts(site):
    rp = site(200)
    notifier = _notifier()
    assert notifier.send("portal-a", rp.url, "token-1").result(5) is True
    assert rp.received == [("/logout", {"logout_token": ["token-1"]}, "no-store")]
    assert notifier.delivered == [("portal-a", rp.url)] and notifier.failed == []


def test_server_errors_are_retried_until_delivered(site):
    rp = site(503, 500, 204)
    notifier = _notifier()
    assert notifier.send("portal-a", rp.url, "token-1").result(5) is True
    assert len(rp.received) == 3


def test_a_refusal_is_not_retried(site):
    rp = site(400, 200)
    notifier = _notifier()
    assert notifier.send("portal-a", rp.url, "token-1").result(5) is False
    assert len(rp.received) == 1 and notifier.failed == [("portal-a", rp.url, "HTTP 400")]


def test_an_unreachable_site_fails_after_the_retries(site):
    rp = site()
    url = rp.url
    rp.close()
    notifier = _notifier(retries=2)
    assert notifier.send("portal-a", url, "token-1").result(10) is False
    assert notifier.failed and notifier.failed[0][:2] == ("portal-a", url)


def test_cas_logout_requests_count_a_redirect_as_delivered(site):
    cas = site(302)
    notifier = _notifier()
    future = notifier.send("cas:1", cas.url, "<samlp:LogoutRequest/>", field="logoutRequest", accept_redirect=True)
    assert future.result(5) is True and cas.received[0][1] == {"logoutRequest": ["<samlp:LogoutRequest/>"]}
    oidc = site(302, 302, 302)
    assert notifier.send("portal-a", oidc.url, "token-1").result(5) is False  # a redirect is not an OIDC 200


def test_wait_idle_waits_for_queued_deliveries(site):
    rp = site(*([200] * 5))
    notifier = _notifier()
    for n in range(5):
        notifier.send("portal-a", rp.url, f"token-{n}")
    assert notifier.wait_idle(10) is True
    assert sorted(r[1]["logout_token"][0] for r in rp.received) == [f"token-{n}" for n in range(5)]
