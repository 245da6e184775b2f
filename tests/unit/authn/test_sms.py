"""SMS codes: single use, short-lived, a few wrong answers, throttled per number and per IP; the
HTTP gateway sender posts JSON and reports a failing gateway as SmsDeliveryError."""
from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from idp.authn import sms
from idp.authn.second_factor import (EXPIRED_CODE, REPLAYED_CODE, SMS_THROTTLED, WRONG_CODE,
                                     SecondFactorRefused)
from idp.storage.memory import MemoryStore


class Recorder:
    def __init__(self):
        self.sent = []

    def send(self, phone, message):
        self.sent.append((phone, message))

    def code(self):
        return re.search(r"\d{6}", self.sent[-1][1]).group(0)


@pytest.fixture
def clock(monkeypatch):
    now = [1_000_000.0]
    monkeypatch.setattr(sms, "_clock", lambda: now[0])
    return now


def codes(clock):
    return sms.SmsCodes(MemoryStore(lambda: clock[0]), Recorder(), "code {code}")


def refused(call) -> str:
    with pytest.raises(SecondFactorRefused) as info:
        call()
    return info.value.code


def test_a_code_works_once(clock):
    c = codes(clock)
    c.send(1, "13900139000", "192.0.2.1")
    code = c.sender.code()
    assert c.sender.sent[-1] == ("13900139000", f"code {code}")
    assert c.check(1, code)["phone"] == "13900139000"
    assert refused(lambda: c.check(1, code)) == REPLAYED_CODE


def test_an_old_code_is_expired(clock):
    c = codes(clock)
    c.send(1, "13900139000", "192.0.2.1")
    clock[0] += sms.TTL + 1
    assert refused(lambda: c.check(1, c.sender.code())) == EXPIRED_CODE


def test_wrong_answers_void_the_code(clock):
    c = codes(clock)
    c.send(1, "13900139000", "192.0.2.1")
    good = c.sender.code()
    wrong = f"{(int(good) + 1) % 10**6:06d}"
    for _ in range(sms.MAX_ATTEMPTS):
        assert refused(lambda: c.check(1, wrong)) == WRONG_CODE
    assert refused(lambda: c.check(1, good)) == EXPIRED_CODE  # no code pending any more


def test_codes_are_per_person_and_purpose(clock):
    c = codes(clock)
    c.send(1, "13900139000", "192.0.2.1", purpose="enrol")
    assert refused(lambda: c.check(1, c.sender.code())) == EXPIRED_CODE
    assert refused(lambda: c.check(2, c.sender.code(), purpose="enrol")) == EXPIRED_CODE
    c.check(1, c.sender.code(), purpose="enrol")


def test_floods_are_throttled_per_number_and_per_ip(clock):
    c = codes(clock)
    for i in range(sms.PER_NUMBER):
        c.send(i, "13900139000", f"192.0.2.{i}")
    assert refused(lambda: c.send(99, "13900139000", "192.0.2.200")) == SMS_THROTTLED
    for i in range(sms.PER_IP):
        c.send(i, f"1370013{i:04d}", "198.51.100.1")
    assert refused(lambda: c.send(1, "13700137000", "198.51.100.1")) == SMS_THROTTLED
    clock[0] += sms.WINDOW + 1
    c.send(1, "13900139000", "192.0.2.1")


class Gateway(BaseHTTPRequestHandler):
    received: list = []
    status = 200

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Gateway.received.append(json.loads(body))
        self.send_response(Gateway.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Gateway.received, Gateway.status = [], 200
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/send"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_http_sender_posts_json(gateway):
    sms.HttpSender(gateway).send("13900139000", "您的验证码是 123456")
    assert Gateway.received == [{"phone": "13900139000", "message": "您的验证码是 123456"}]


def test_http_sender_reports_a_failing_gateway(gateway, clock):
    Gateway.status = 503
    c = sms.SmsCodes(MemoryStore(lambda: clock[0]), sms.HttpSender(gateway), "code {code}")
    with pytest.raises(sms.SmsDeliveryError):
        c.send(1, "13900139000", "192.0.2.1")
    assert c.store.get(sms.KIND, "login:1") is None  # no code pending that nobody received


def test_http_sender_reports_an_unreachable_gateway():
    from helpers import free_port
    with pytest.raises(sms.SmsDeliveryError, match="cannot be reached"):
        sms.HttpSender(f"http://127.0.0.1:{free_port()}/send", timeout=2).send("13900139000", "x")
