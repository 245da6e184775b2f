"""OAuth 2.0 Device Authorization Grant (RFC 8628) on Authlib's device authorization endpoint and
device-code grant.

A device request lives in the ephemeral store (memory or Redis, with a time to live), in four records
that are each written by one party, so that no writer overwrites another's change:

* ``device_code``: the request itself (client, scope, user code, expiry), written once when issued;
* ``device_poll``: when the device last polled and its current interval, written by the token endpoint;
* ``device_decision``: the person's approval or denial, created once (``add``) by the verification page;
* ``device_used``: created once (``add``) when tokens are issued, so a device code yields tokens once.

The user code is found through ``device_user_code``, keyed by its normalized form.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from authlib.common.security import generate_token
from authlib.oauth2.rfc6749 import (AccessDeniedError, InvalidGrantError, InvalidRequestError, InvalidScopeError,
                                    UnauthorizedClientError, scope_to_list)
from authlib.oauth2.rfc8628 import (DEVICE_CODE_GRANT_TYPE, AuthorizationPendingError, DeviceAuthorizationEndpoint,
                                    DeviceCredentialMixin, ExpiredTokenError, SlowDownError)
from authlib.oauth2.rfc8628 import DeviceCodeGrant as AuthlibDeviceCodeGrant
from authlib.consts import default_json_headers

from ...identity.service import person_claims
from ...storage.token_hash import token_hash
from .device_rate import TooManyDeviceCodes, count_issue
from .grants import ALL_AUTH_METHODS, OpenIDConnectCode, _principal

EXPIRES_IN = 600  # seconds a device and user code pair is valid (RFC 8628 3.2 expires_in)
INTERVAL = 5  # seconds between polls (RFC 8628 3.2 interval)
SLOW_DOWN_STEP = 5  # RFC 8628 3.5: slow_down adds 5 seconds to the interval
POLL_TOLERANCE = 1.0  # a poll this much earlier than the interval is still on time (timer and network jitter)
KEEP = EXPIRES_IN + 3600  # records outlive the codes, so late polls hear expired_token, not an unknown code
# RFC 8628 6.1: base-20 consonants, no vowels (no words) and no look-alike characters; 20^8 codes.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8

REQUEST, USER_CODE, POLL, DECISION, USED, EXPIRED = ("device_code", "device_user_code", "device_poll",
                                                     "device_decision", "device_used", "device_expired")


def _single_parameters(payload, names) -> None:
    """RFC 6749 3.1, 3.2: a request parameter appears at most once."""
    for name in names:
        if len(payload.datalist.get(name, [])) > 1:
            raise InvalidRequestError(f"Multiple '{name}' in request.")


def normalize_user_code(value: str | None) -> str | None:
    """The canonical form of a typed user code (upper case, without the dash or spaces), or None when it
    cannot be one."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    code = "".join(c for c in value.upper() if c not in "- \t")
    if len(code) != USER_CODE_LENGTH or any(c not in USER_CODE_ALPHABET for c in code):
        return None
    return code


def display_user_code(code: str) -> str:
    """Two groups of four letters joined by a hyphen, as the device shows it."""
    return f"{code[:4]}-{code[4:]}"


@dataclass
class DeviceRequest(DeviceCredentialMixin):
    key: str  # the device code's hash: the device code itself is never stored
    client_id: str
    scope: str
    user_code: str  # normalized
    expires_at: float
    issued_at: float

    @classmethod
    def from_record(cls, key: str, record: dict) -> "DeviceRequest":
        return cls(key=key, client_id=record["client_id"], scope=record["scope"], user_code=record["user_code"],
                   expires_at=record["expires_at"], issued_at=record["issued_at"])

    def get_client_id(self):
        return self.client_id

    def get_scope(self):
        return self.scope

    def get_user_code(self):
        return self.user_code

    def is_expired(self):
        return self.expires_at <= time.time()


class DeviceRequests:
    """The device requests in the ephemeral store."""

    def __init__(self, store, clock=time.time):
        self.store = store
        self._clock = clock

    def create(self, device_code: str, client_id: str, scope: str) -> tuple[DeviceRequest, str]:
        """A new request; returns it with its user code in display form."""
        key = token_hash(device_code)
        now = self._clock()
        while True:  # a collision is astronomically rare, but a user code must name one request only
            code = generate_token(USER_CODE_LENGTH, USER_CODE_ALPHABET)
            if self.store.add(USER_CODE, code, {"key": key}, KEEP):
                break
        record = {"client_id": client_id, "scope": scope, "user_code": code, "expires_at": now + EXPIRES_IN,
                  "issued_at": now}
        self.store.put(REQUEST, key, record, KEEP)
        self.store.put(POLL, key, {"last": None, "interval": INTERVAL}, KEEP)
        return DeviceRequest.from_record(key, record), display_user_code(code)

    def by_device_code(self, device_code: str) -> DeviceRequest | None:
        key = token_hash(device_code)
        record = self.store.get(REQUEST, key)
        return DeviceRequest.from_record(key, record) if record else None

    def by_user_code(self, user_code: str) -> DeviceRequest | None:
        """The request of a normalized user code (expired ones too: the caller tells the person)."""
        entry = self.store.get(USER_CODE, user_code)
        record = self.store.get(REQUEST, entry["key"]) if entry else None
        return DeviceRequest.from_record(entry["key"], record) if record else None

    def decide(self, request: DeviceRequest, *, approved: bool, grant: dict | None = None) -> bool:
        """Record the person's answer; False when the request was already answered."""
        return self.store.add(DECISION, request.key, {"approved": approved, **(grant or {})}, KEEP)

    def decision(self, request: DeviceRequest) -> dict | None:
        return self.store.get(DECISION, request.key)

    def poll(self, request: DeviceRequest) -> bool:
        """Note a poll; True when it came too early, and then the interval grows (RFC 8628 3.5)."""
        state = self.store.get(POLL, request.key) or {"last": None, "interval": INTERVAL}
        now = self._clock()
        too_early = state["last"] is not None and now - state["last"] < state["interval"] - POLL_TOLERANCE
        if too_early:
            state["interval"] += SLOW_DOWN_STEP
        state["last"] = now
        self.store.put(POLL, request.key, state, KEEP)
        return too_early

    def interval(self, request: DeviceRequest) -> int:
        state = self.store.get(POLL, request.key) or {}
        return int(state.get("interval", INTERVAL))

    def used(self, request: DeviceRequest) -> bool:
        return self.store.get(USED, request.key) is not None

    def claim(self, request: DeviceRequest) -> bool:
        """Mark the request as exchanged for tokens; True for the one caller that did."""
        return self.store.add(USED, request.key, {"at": self._clock()}, KEEP)

    def note_expiry(self, request: DeviceRequest) -> bool:
        """True the first time an expired request is seen (one audit record per request)."""
        return self.store.add(EXPIRED, request.key, {}, KEEP)


class DeviceAuthorization(DeviceAuthorizationEndpoint):
    """POST /device_authorization (RFC 8628 3.1, 3.2)."""

    CLIENT_AUTH_METHODS = ALL_AUTH_METHODS  # each client authenticates by its registered method
    EXPIRES_IN = EXPIRES_IN
    INTERVAL = INTERVAL

    def create_endpoint_response(self, request):
        core = self.server.core
        _single_parameters(request.payload, ("client_id", "scope"))
        client = self.authenticate_client(request)
        if not client.check_grant_type(DEVICE_CODE_GRANT_TYPE):
            raise UnauthorizedClientError("The client is not registered for the device authorization grant.")
        requested = request.payload.scope
        if requested and not isinstance(requested, str):
            raise InvalidRequestError("scope must be one space-separated string")
        self.server.validate_requested_scope(requested)
        allowed = set(scope_to_list(client.scope) or [])
        refused = [s for s in scope_to_list(requested) or [] if s not in allowed]
        if refused:
            raise InvalidScopeError(f"The client may ask only for: {' '.join(sorted(allowed))}")
        scope = client.get_allowed_scope(requested)
        ip = self.client_ip()
        try:
            count_issue(core.store, client.get_client_id(), ip, per_ip=core.settings.device_codes_per_ip,
                        per_client=core.settings.device_codes_per_client)
        except TooManyDeviceCodes as refused:
            core.audit("device.throttled", client_id=client.get_client_id(), ip=ip, limit=refused.limited)
            raise
        device_code = self.generate_device_code()
        _created, user_code = DeviceRequests(core.store).create(device_code, client.get_client_id(), scope)
        verification_uri = self.get_verification_uri()
        data = {
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": verification_uri,
            "verification_uri_complete": f"{verification_uri}?user_code={user_code}",
            "expires_in": self.EXPIRES_IN,
            "interval": self.INTERVAL,
        }
        core.audit("device.issued", client_id=client.get_client_id(), scope=scope, ip=ip)
        return 200, data, default_json_headers

    def generate_device_code(self):
        return generate_token(48)

    def get_verification_uri(self):
        return self.server.core.settings.issuer + "/device"

    def client_ip(self) -> str | None:
        from ...http.client_ip import client_ip
        return client_ip()


class DeviceCodeGrant(AuthlibDeviceCodeGrant):
    """The token endpoint's answers to a polling device (RFC 8628 3.4, 3.5)."""

    TOKEN_ENDPOINT_AUTH_METHODS = ALL_AUTH_METHODS

    def validate_token_request(self):
        _single_parameters(self.request.payload, ("client_id", "device_code"))
        device_code = self.request.payload.data.get("device_code")
        if not device_code:
            raise InvalidRequestError("Missing 'device_code' in payload")
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError("The client is not registered for the device authorization grant.")
        core = self.server.core
        credential = self.query_device_credential(device_code)
        if credential is None or credential.get_client_id() != client.get_client_id():
            core.audit("device.unknown_code", client_id=client.get_client_id())
            raise InvalidGrantError("The device code is unknown.")
        self.request.client = client
        if self._requests().used(credential):
            core.audit("device.replay", client_id=client.get_client_id())
            raise InvalidGrantError("The device code has already been exchanged for tokens.")
        user = self.validate_device_credential(credential)
        if not self._requests().claim(credential):  # another poll claimed it in between
            core.audit("device.replay", client_id=client.get_client_id())
            raise InvalidGrantError("The device code has already been exchanged for tokens.")
        self.request.user = user
        self.request.credential = credential

    def validate_device_credential(self, credential):
        core = self.server.core
        requests = self._requests()
        if credential.is_expired():
            if requests.note_expiry(credential):
                core.audit("device.expired", client_id=credential.client_id)
            raise ExpiredTokenError("The device code has expired; start again.")
        decision = requests.decision(credential)
        if decision is not None:
            if not decision["approved"]:
                raise AccessDeniedError("The person denied the request.")
            user = _principal(person_claims(decision["person_id"]), self.request.client,
                              auth_time=decision["auth_time"], acr=decision["acr"], amr=decision["amr"],
                              sid=decision["sid"], entity_id=decision["entity_id"])
            if user is None:  # the person was disabled after approving
                raise InvalidGrantError("The person who approved the request can no longer log in.")
            if user.context_lost:
                raise InvalidGrantError("The person no longer acts for this enterprise.")
            return user
        if requests.poll(credential):
            interval = requests.interval(credential)
            core.audit("device.slow_down", client_id=credential.client_id, interval=interval)
            raise SlowDownError(f"Polling too fast: wait {interval} seconds between requests.")
        raise AuthorizationPendingError("The person has not answered yet.")

    def query_device_credential(self, device_code):
        if not isinstance(device_code, str) or len(device_code) > 256:
            return None
        return self._requests().by_device_code(device_code)

    def _requests(self) -> DeviceRequests:
        return DeviceRequests(self.server.core.store)


class DeviceIdToken(OpenIDConnectCode):
    """An ID token with the device's tokens when the scope has openid, carrying the approving session's
    authentication (auth_time, acr, amr, sid)."""

    def get_compatible_claims(self, request):
        claims = super().get_compatible_claims(request)
        user = request.user
        for name, value in (("auth_time", user.auth_time), ("acr", user.acr), ("amr", list(user.amr) or None),
                            ("sid", user.sid)):
            if value:
                claims[name] = value
        return claims

    def __call__(self, grant):
        grant.register_hook("after_create_token_response", self.process_token)
