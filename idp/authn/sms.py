"""SMS one-time codes as a second factor, and the senders that deliver them.

A code is six random digits, valid ``TTL`` seconds, for one use: only its hash is kept in the
ephemeral store under the person, and it is consumed by the first correct answer. Wrong answers are
counted; past ``MAX_ATTEMPTS`` the code is void. Sending is throttled per number and per client IP, so
nobody can flood a phone (or pay for a flood of messages) through the login page.

Senders are pluggable: ``LogSender`` writes the message to the server log (demo, development), and
``HttpSender`` posts it to an SMS gateway (URL and message template from the settings).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from typing import Protocol

import requests

from ..errors import ConfigError
from ..identity.second_factors import SMS
from .authenticator import LoginContext
from .result import AuthResult
from .second_factor import (EXPIRED_CODE, NOT_ENROLLED, REPLAYED_CODE, SMS_THROTTLED, WRONG_CODE,
                            CodeCredentials, SecondFactorRefused, enrolled_factors, normalize_code,
                            with_second_factor)

METHOD = "sms"
KIND = "sms_code"
USED = "sms_code_used"
COUNTER = "sms_sent"
TTL = 300
GRACE = 900  # an answer this long after expiry still hears "expired" rather than "wrong"
MAX_ATTEMPTS = 5
PER_NUMBER = 5    # messages to one number per WINDOW
PER_IP = 20       # messages asked for by one client IP per WINDOW
WINDOW = 3600
DEFAULT_TEMPLATE = "Your verification code is {code}. It is valid for 5 minutes."

log = logging.getLogger(__name__)
_clock = time.time


class SmsSender(Protocol):
    def send(self, phone: str, message: str) -> None:
        """Deliver ``message`` to ``phone`` or raise ``SmsDeliveryError``."""


class SmsDeliveryError(Exception):
    pass


class LogSender:
    """Writes each message to the log: for the demo and development, where no gateway exists."""

    def __init__(self):
        self.sent: list[tuple[str, str]] = []  # the last messages, for the demo's operator

    def send(self, phone: str, message: str) -> None:
        log.warning("SMS to %s: %s", phone, message)
        self.sent = (self.sent + [(phone, message)])[-20:]


class HttpSender:
    """Posts ``{"phone": ..., "message": ...}`` as JSON to the gateway URL."""

    def __init__(self, url: str, timeout: float = 5):
        self.url, self.timeout = url, timeout

    def send(self, phone: str, message: str) -> None:
        try:
            response = requests.post(self.url, json={"phone": phone, "message": message}, timeout=self.timeout)
        except requests.RequestException as exc:
            raise SmsDeliveryError(f"the SMS gateway cannot be reached: {exc.__class__.__name__}") from None
        if response.status_code >= 300:
            raise SmsDeliveryError(f"the SMS gateway answered {response.status_code}")


def sender_from_settings(settings) -> SmsSender:
    if settings.sms_sender == "http":
        if not settings.sms_http_url:
            raise ConfigError("IDP_SMS_HTTP_URL is required when IDP_SMS_SENDER=http")
        return HttpSender(settings.sms_http_url)
    return LogSender()


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def _key(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:40]


def masked_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 11 else "****" + phone[-2:]


class SmsCodes:
    """Issue and check SMS codes for one purpose (``login`` or ``enrol``) per person."""

    def __init__(self, store, sender: SmsSender, template: str = DEFAULT_TEMPLATE):
        self.store, self.sender, self.template = store, sender, template or DEFAULT_TEMPLATE

    def send(self, person_id: int, phone: str, ip: str, purpose: str = "login") -> None:
        """Send a new code (replacing any earlier one); refuse when the number or the IP sent too many."""
        if self.store.incr(COUNTER, "ip:" + _key(ip), WINDOW) > PER_IP \
                or self.store.incr(COUNTER, "phone:" + _key(phone), WINDOW) > PER_NUMBER:
            raise SecondFactorRefused(SMS_THROTTLED, "too many codes were sent; try again later",
                                      details={"phone": masked_phone(phone)})
        code = f"{secrets.randbelow(10 ** 6):06d}"
        now = _clock()
        self.store.put(KIND, f"{purpose}:{person_id}", {"digest": _digest(code), "phone": phone,
                                                        "expires_at": now + TTL, "attempts": 0}, TTL + GRACE)
        try:
            self.sender.send(phone, self.template.replace("{code}", code))
        except SmsDeliveryError:
            self.store.delete(KIND, f"{purpose}:{person_id}")
            raise

    def check(self, person_id: int, code: str, purpose: str = "login") -> dict:
        """Use up the person's code; returns its record. Refusals: malformed, wrong, expired, replayed."""
        code = normalize_code(code)
        key = f"{purpose}:{person_id}"
        record = self.store.consume(KIND, key)
        if record is None:
            if self.store.get(USED, key + ":" + _digest(code)) is not None:
                raise SecondFactorRefused(REPLAYED_CODE, "this code has already been used")
            raise SecondFactorRefused(EXPIRED_CODE, "no code is pending; ask for a new one")
        if _clock() > record["expires_at"]:
            raise SecondFactorRefused(EXPIRED_CODE, "the code has expired; ask for a new one")
        if not hmac.compare_digest(record["digest"], _digest(code)):
            record["attempts"] += 1
            if record["attempts"] < MAX_ATTEMPTS:
                remaining = max(1, int(record["expires_at"] - _clock()))
                self.store.put(KIND, key, record, remaining + GRACE)
            raise SecondFactorRefused(WRONG_CODE, "wrong code")
        self.store.put(USED, key + ":" + record["digest"], {"at": _clock()}, TTL + GRACE)
        return record


class SmsAuthenticator:
    method = METHOD

    def __init__(self, codes: SmsCodes):
        self.codes = codes

    def send(self, person_id: int, ip: str) -> str:
        """Send a login code to the person's enrolled number; returns the number, masked."""
        factor = enrolled_factors(person_id).get(SMS)
        if factor is None or not factor.phone:
            raise SecondFactorRefused(NOT_ENROLLED, "no phone is enrolled for SMS codes")
        self.codes.send(person_id, factor.phone, ip)
        return masked_phone(factor.phone)

    def authenticate(self, credentials: CodeCredentials, context: LoginContext, *, first: AuthResult) -> AuthResult:
        if SMS not in enrolled_factors(credentials.person_id):
            raise SecondFactorRefused(NOT_ENROLLED, "no phone is enrolled for SMS codes")
        self.codes.check(credentials.person_id, credentials.code)
        return with_second_factor(first, METHOD, "sms")
