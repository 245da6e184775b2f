"""The words for assurance levels say every way to reach them: level 2 is a certificate, a passkey that
verifies the person, or a password with a second factor; the login page's notice says so too."""
from __future__ import annotations

import pytest

from idp.web.assurance_words import level_words, method_words, step_up_words

LEVEL_2 = "urn:idp:loa:2"
LEVEL_3 = "urn:idp:loa:3"
# (locale, words for a certificate, a passkey, a second factor, a USB key)
WORDS = [("en", "certificate", "passkey", "second factor", "USB key"),
         ("zh", "数字证书", "通行密钥", "第二因素", "USB Key")]


@pytest.fixture(params=WORDS, ids=[w[0] for w in WORDS])
def language(app, request):
    with app.test_request_context("/", headers={"Accept-Language": request.param[0]}):
        yield request.param[1:]


def test_level_2_names_each_way_to_reach_it(language):
    certificate, passkey, second_factor, _usb = language
    for words in (level_words(LEVEL_2), step_up_words([LEVEL_2])):
        assert certificate in words and passkey in words and second_factor in words, words


def test_level_3_asks_for_the_usb_key_only(language):
    certificate, passkey, second_factor, usb = language
    words = step_up_words([LEVEL_3])
    assert usb in words and passkey not in words and second_factor not in words


def test_the_weakest_known_level_asked_for_decides(language):
    assert step_up_words(["urn:unknown", LEVEL_3, LEVEL_2]) == step_up_words([LEVEL_2])
    assert step_up_words([]) == step_up_words([None]) == step_up_words([LEVEL_2])


def test_a_qr_login_is_named_as_such(app):
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert method_words("qr", ["pwd"]) == "Approved on another device (QR code)"
