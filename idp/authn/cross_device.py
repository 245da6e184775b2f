"""QR cross-device login (扫码登录): a browser where the person is already logged in approves the login of
another browser, usually a phone approving a desktop.

1. The desktop's login page creates a *request*: a random id (256 bits) carried by the QR code's URL, bound
   to that desktop browser by a second secret the desktop keeps (only its hash is stored), and to the
   login it continues (its login transaction, or the local page it returns to). It expires after ``TTL``.
2. The phone, logged in, opens the URL, sees the site, the desktop's IP address and browser, and confirms
   "it is me": the request is bound to that person (created once, ``add``).
3. The same person approves or denies, once (``add``): the approval records the approving session's
   assurance (acr, amr, auth_time).
4. The desktop polls the status with its secret (another browser polling the same id learns nothing)
   and, once approved, continues: ``CrossDeviceAuthenticator`` turns the approval into an ``AuthResult``,
   once (``add``).

Assurance is carried over, never raised: the desktop's login has the approving session's acr, amr and
auth_time unchanged. The QR step adds no amr value of its own: RFC 8176 has none for "approved on
another device", and the methods that proved who the person is are those of the approving session.

Each fact lives in its own record, written by one party only, so no writer overwrites another's change
on any store (memory, SQL, Redis): ``qr_login`` (the request, written once), ``qr_login_confirm``,
``qr_login_decision`` and ``qr_login_used`` (each created once), ``qr_login_rate`` (counters).
"""
from __future__ import annotations

import re
import secrets
import time
from dataclasses import asdict, dataclass

from ..errors import AuthnError
from ..extensions import db
from ..identity.models import Person
from ..storage.token_hash import token_hash
from .authenticator import LoginContext
from .result import AuthResult

METHOD = "qr"
REQUEST, CONFIRM, DECISION, USED, RATE = ("qr_login", "qr_login_confirm", "qr_login_decision", "qr_login_used",
                                          "qr_login_rate")
TTL = 120  # seconds a QR code can be approved
CONTINUE_GRACE = 60  # seconds after that an approved request can still be continued by the desktop
KEEP = TTL + 600  # records outlive the code, so a late scan hears "expired", not "unknown"
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
POLL_INTERVAL = 2  # seconds the desktop waits between status requests
POLL_WINDOW, POLLS_PER_WINDOW = 10, 10  # at most this many status requests per request id and window
CREATE_WINDOW, CREATES_PER_IP = 600, 30  # QR codes one IP address may ask for per window

UNKNOWN = "qr_unknown"  # no such request, or one of another browser
EXPIRED = "qr_expired"
USED_UP = "qr_used"  # approved, denied or continued already
DIFFERENT_PERSON = "qr_different_person"  # confirmed by someone else than the approving session's person
NOT_CONFIRMED = "qr_not_confirmed"
STEP_UP_OTHER_PERSON = "qr_step_up_other_person"  # a step-up approved by someone else than the person logged in
OTHER_LOGIN = "qr_other_login"  # the request continues another login transaction
PENDING = "qr_pending"
DENIED = "qr_denied"
THROTTLED = "qr_throttled"
ACCOUNT_DISABLED = "account_disabled"


@dataclass(frozen=True)
class QrRequest:
    id: str
    browser: str  # hash of the desktop browser's secret
    tx: str | None  # the login transaction it continues
    next: str | None  # or the local page the login returns to
    ip: str
    user_agent: str
    client_name: str | None
    client_id: str | None
    created_at: float
    expires_at: float

    def expired(self, now: float) -> bool:
        return now >= self.expires_at


def plausible_id(request_id) -> bool:
    return isinstance(request_id, str) and ID_PATTERN.fullmatch(request_id) is not None


class QrLogins:
    """The QR login requests in the ephemeral store."""

    def __init__(self, store, clock=time.time):
        self.store = store
        self._clock = clock

    def create(self, browser_secret: str, *, ip: str, user_agent: str = "", tx: str | None = None,
               next_path: str | None = None, client_name: str | None = None,
               client_id: str | None = None) -> QrRequest:
        """A new request of the browser holding ``browser_secret``; raises THROTTLED when ``ip`` asked too often."""
        if self.store.incr(RATE, "create:" + token_hash(ip), CREATE_WINDOW) > CREATES_PER_IP:
            raise AuthnError(THROTTLED)
        now = self._clock()
        request = QrRequest(id=secrets.token_urlsafe(32), browser=token_hash(browser_secret), tx=tx, next=next_path,
                            ip=ip, user_agent=user_agent[:256], client_name=client_name, client_id=client_id,
                            created_at=now, expires_at=now + TTL)
        self.store.put(REQUEST, token_hash(request.id), asdict(request), KEEP)
        return request

    def find(self, request_id) -> QrRequest | None:
        if not plausible_id(request_id):
            return None
        record = self.store.get(REQUEST, token_hash(request_id))
        try:
            return QrRequest(**record) if record else None
        except TypeError:  # written by a version with other fields: a new code is needed
            return None

    def of_browser(self, request_id, browser_secret) -> QrRequest:
        """The request, for the browser that created it only; UNKNOWN for any other."""
        request = self.find(request_id)
        if request is None or not isinstance(browser_secret, str) or not secrets.compare_digest(
                request.browser, token_hash(browser_secret)):
            raise AuthnError(UNKNOWN)
        return request

    def _key(self, request: QrRequest) -> str:
        return token_hash(request.id)

    def confirmation(self, request: QrRequest) -> dict | None:
        return self.store.get(CONFIRM, self._key(request))

    def decision(self, request: QrRequest) -> dict | None:
        return self.store.get(DECISION, self._key(request))

    def openable(self, request_id) -> QrRequest:
        """The request a scanning device may act on, or raise: UNKNOWN, EXPIRED or USED_UP."""
        request = self.find(request_id)
        if request is None:
            raise AuthnError(UNKNOWN)
        if self.decision(request) is not None:
            raise AuthnError(USED_UP)
        if request.expired(self._clock()):
            raise AuthnError(EXPIRED)
        return request

    def confirm(self, request: QrRequest, person_id: int) -> None:
        """Bind the request to the person who scanned it ("it is me"); the first confirmation holds."""
        if not self.store.add(CONFIRM, self._key(request), {"person_id": person_id}, KEEP):
            if (self.confirmation(request) or {}).get("person_id") != person_id:
                raise AuthnError(DIFFERENT_PERSON)

    def decide(self, request: QrRequest, session, *, approved: bool) -> None:
        """Record the answer of ``session`` (an SSO session of the confirming person), once."""
        confirmed = self.confirmation(request)
        if confirmed is None:
            raise AuthnError(NOT_CONFIRMED)
        if confirmed.get("person_id") != session.person_id:
            raise AuthnError(DIFFERENT_PERSON)
        facts = {"approved": approved, "person_id": session.person_id}
        if approved:
            facts.update(acr=session.acr, amr=list(session.amr), auth_time=session.auth_time, sid=session.sid)
        if not self.store.add(DECISION, self._key(request), facts, KEEP):
            raise AuthnError(USED_UP)

    def status(self, request: QrRequest) -> str:
        """What the desktop shows: pending, confirmed, approved, denied, expired or used."""
        if self.store.get(USED, self._key(request)) is not None:
            return "used"
        decision = self.decision(request)
        now = self._clock()
        if decision is not None:
            if not decision["approved"]:
                return "denied"
            return "approved" if now < request.expires_at + CONTINUE_GRACE else "expired"
        if request.expired(now):
            return "expired"
        return "confirmed" if self.confirmation(request) is not None else "pending"

    def poll_too_fast(self, request: QrRequest) -> bool:
        """Count a status request; True when the desktop asks more often than POLL_INTERVAL allows."""
        window = int(self._clock() // POLL_WINDOW)
        return self.store.incr(RATE, f"poll:{self._key(request)}:{window}", POLL_WINDOW * 2) > POLLS_PER_WINDOW

    def claim(self, request: QrRequest) -> bool:
        """Mark the request continued; True for the one caller that did."""
        return self.store.add(USED, self._key(request), {"at": self._clock()}, KEEP)


@dataclass(frozen=True)
class QrContinuation:
    """The desktop's claim: the request it shows, its browser secret and the login it continues (its
    transaction, or without one the local page it returns to)."""

    request_id: str
    browser_secret: str | None
    tx: str | None
    next: str | None = None


class CrossDeviceAuthenticator:
    """Log the desktop in as the person who approved its QR code, at that session's assurance."""

    method = METHOD

    def __init__(self, store, clock=time.time):
        self.logins = QrLogins(store, clock)

    def authenticate(self, credentials: QrContinuation, context: LoginContext) -> AuthResult:
        request = self.logins.of_browser(credentials.request_id, credentials.browser_secret)
        details = {"qr": request.id[:8]}
        if (request.tx or None) != (credentials.tx or None) or (
                not request.tx and (request.next or None) != (credentials.next or None)):
            raise AuthnError(OTHER_LOGIN, details=details)
        status = self.logins.status(request)
        if status in ("pending", "confirmed"):
            raise AuthnError(PENDING, details=details)
        if status == "expired":
            raise AuthnError(EXPIRED, details=details)
        if status == "denied":
            raise AuthnError(DENIED, details=details)
        if status == "used":
            raise AuthnError(USED_UP, details=details)
        decision = self.logins.decision(request)
        person = db.session.get(Person, decision["person_id"])
        if person is None or person.disabled:
            raise AuthnError(ACCOUNT_DISABLED, details=details)
        if context.step_up and context.session_person_id not in (None, person.id):
            raise AuthnError(STEP_UP_OTHER_PERSON, details=details)
        if not self.logins.claim(request):
            raise AuthnError(USED_UP, details=details)
        return AuthResult(person_id=person.id, method=METHOD, acr=decision["acr"], amr=tuple(decision["amr"]),
                          auth_time=int(decision["auth_time"]),
                          details={**details, "person": person.public_id, "approved_by_sid": decision["sid"]})
