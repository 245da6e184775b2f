"""The device flow's records (idp.protocols.oidc.device_grant.DeviceRequests) on every ephemeral store
backend: one answer per request, one token exchange per device code, the polling interval that grows."""
from __future__ import annotations

import secrets
import string

from hypothesis import given
from hypothesis import strategies as st

from idp.protocols.oidc.device_grant import (INTERVAL, SLOW_DOWN_STEP, USER_CODE_ALPHABET, DeviceRequests,
                                             display_user_code, normalize_user_code)
from test_conformance import run_concurrently


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self):
        return self.now


def test_user_codes_find_their_request(store):
    requests = DeviceRequests(store)
    made = [requests.create(secrets.token_urlsafe(32), f"client-{i}", "openid") for i in range(20)]
    assert len({shown for _request, shown in made}) == 20
    for request, shown in made:
        found = requests.by_user_code(normalize_user_code(shown))
        assert found == request
    unused = next(c * 8 for c in USER_CODE_ALPHABET if c * 8 not in {r.user_code for r, _ in made})
    assert requests.by_user_code(unused) is None


def test_one_answer_per_request(store):
    requests = DeviceRequests(store)
    request, _shown = requests.create(secrets.token_urlsafe(32), "kiosk", "openid")
    answers = run_concurrently(lambda: requests.decide(request, approved=secrets.randbelow(2) == 1,
                                                       grant={"person_id": 1}))
    assert answers.count(True) == 1
    assert requests.decision(request)["person_id"] == 1


def test_one_token_exchange_per_device_code(store):
    requests = DeviceRequests(store)
    device_code = secrets.token_urlsafe(32)
    request, _shown = requests.create(device_code, "kiosk", "openid")
    assert requests.by_device_code(device_code) == request and not requests.used(request)
    assert run_concurrently(lambda: requests.claim(request)).count(True) == 1
    assert requests.used(request)
    assert requests.by_device_code(device_code + "x") is None


def test_polling_too_early_grows_the_interval(store):
    clock = Clock()
    requests = DeviceRequests(store, clock=clock)
    request, _shown = requests.create(secrets.token_urlsafe(32), "kiosk", "openid")
    assert requests.poll(request) is False  # the first poll is never early
    clock.now += 1
    assert requests.poll(request) is True
    assert requests.interval(request) == INTERVAL + SLOW_DOWN_STEP
    clock.now += INTERVAL  # on the old interval: still too early for the new one
    assert requests.poll(request) is True
    assert requests.interval(request) == INTERVAL + 2 * SLOW_DOWN_STEP
    clock.now += INTERVAL + 2 * SLOW_DOWN_STEP
    assert requests.poll(request) is False
    assert requests.interval(request) == INTERVAL + 2 * SLOW_DOWN_STEP


@given(st.text(USER_CODE_ALPHABET, min_size=8, max_size=8), st.sampled_from(["", "-", " ", "  "]),
       st.booleans())
def test_a_code_typed_loosely_is_the_code(code, separator, lower):
    typed = code[:4] + separator + code[4:]
    assert normalize_user_code(typed.lower() if lower else typed) == code
    assert normalize_user_code(display_user_code(code)) == code


@given(st.one_of(st.text(max_size=60), st.text(string.ascii_letters + string.digits + "-", max_size=12),
                 st.none(), st.integers()))
def test_anything_else_is_no_code_or_a_well_formed_one(value):
    code = normalize_user_code(value)
    assert code is None or (len(code) == 8 and set(code) <= set(USER_CODE_ALPHABET))
