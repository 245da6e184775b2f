"""Two parties answering or claiming the same request at the same moment: exactly one wins, the other gets
a clear refusal, never a server error (device codes, QR codes)."""
from __future__ import annotations

import threading

import pytest

from helpers import audit_events
from test_device_flow import (DEVICE_GRANT, answer, enter, http, kiosk, log_in, poll,  # noqa: F401 (fixtures)
                              start)
from test_qr_login import Desktop, Phone

# the stores where a race is real: SQL and Redis records shared by every worker
pytestmark = pytest.mark.every_backend


def at_once(*calls):
    """Run the calls in threads released together; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        try:
            results[index] = call()
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            results[index] = error

    threads = [threading.Thread(target=run, args=(n, call)) for n, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not [r for r in results if isinstance(r, BaseException)], results
    return results


def test_two_browsers_answer_one_device_code_at_once(app, kiosk):
    device = app.test_client()
    grant = start(device, kiosk)
    browsers = [app.test_client() for _ in range(2)]
    pages = []
    for browser in browsers:
        browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        log_in(browser)
        pages.append(enter(browser, grant["user_code"]))
        assert pages[-1].status_code == 200
    approved, denied = at_once(lambda: answer(browsers[0], pages[0], "allow"),
                               lambda: answer(browsers[1], pages[1], "deny"))
    assert sorted([approved.status_code, denied.status_code])[1] < 500
    decisions = [event for event, _ in audit_events(app, "device.") if event in ("device.approved", "device.denied")]
    assert len(decisions) == 1, decisions
    outcome = poll(device, kiosk, grant["device_code"])
    if decisions == ["device.approved"]:
        assert outcome.status_code == 200 and "access_token" in outcome.get_json()
    else:
        assert outcome.get_json()["error"] == "access_denied"


def test_two_polls_of_an_approved_device_code_get_tokens_once(app, kiosk):
    device = app.test_client()
    grant = start(device, kiosk)
    browser = app.test_client()
    log_in(browser)
    assert answer(browser, enter(browser, grant["user_code"]), "allow").status_code == 200
    pollers = [app.test_client() for _ in range(3)]
    answers = at_once(*[lambda p=p: poll(p, kiosk, grant["device_code"]) for p in pollers])
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 400, 400], [a.get_json() for a in answers]
    assert {a.get_json()["error"] for a in answers if a.status_code == 400} <= {"invalid_grant", "slow_down"}
    assert len(audit_events(app, "device.replay")) + statuses.count(400) >= 2


def test_two_phones_decide_one_qr_code_at_once(app, rp, citizen):
    desktop = Desktop(app, rp)
    desktop.start()
    path = desktop.show_code()
    phones = [Phone(app), Phone(app)]
    assert phones[0].open(path).status_code == 200 and phones[0].confirm(path).status_code == 302
    phones[1].open(path)
    phones[1].confirm(path)  # the second phone may be refused here already (another phone confirmed)
    first, second = at_once(lambda: phones[0].decide(path, "approve"), lambda: phones[1].decide(path, "approve"))
    assert sorted([first.status_code, second.status_code]) == [200, 400]
    assert len(audit_events(app, "qr.approved")) == 1


def test_two_desktop_tabs_continue_one_approved_qr_code_at_once(app, rp, citizen):
    desktop = Desktop(app, rp)
    desktop.start()
    path = desktop.show_code()
    Phone(app).approve(path)
    first, second = at_once(lambda: desktop.continue_login(path), lambda: desktop.continue_login(path))
    statuses = sorted([first.status_code, second.status_code])
    assert statuses[0] == 302 and statuses[1] in (400, 404, 409), statuses
    assert len(audit_events(app, "login.success")) == 2  # the phone's password login and one QR login
