"""Every spelling of one login identifier has one key; different identifiers have different keys."""
from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric

from idp.identity.identifiers import (EMAIL, ID_NUMBER, OTHER, PHONE, LoginIdentifier, MalformedIdNumber,
                                      parse_login_identifier)
from idp.identity.numbers import is_valid_id_number

# County codes assigned throughout 1990-2010 (python-stdnum checks the code against the birth year).
COUNTIES = ["110101", "110105", "110108", "310104", "320102", "330106", "350102", "420102", "440103",
            "440304", "510104", "610103"]
SEPARATORS = [" ", "-", "\u3000", "\u2010", "\u2013", ".", "\t"]


def _full_width(char: str) -> str:
    return chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else char


@st.composite
def id_numbers(draw):
    county = draw(st.sampled_from(COUNTIES))
    born = draw(st.dates(min_value=datetime.date(1990, 1, 1), max_value=datetime.date(2010, 12, 31)))
    body = county + born.strftime("%Y%m%d") + draw(st.from_regex(r"[0-9]{3}", fullmatch=True))
    number = body + ric.calc_check_digit(body + "0")
    assert is_valid_id_number(number)
    return number


phones = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
emails = st.builds(lambda local, domain, tld: f"{local}@{domain}.{tld}",
                   st.from_regex(r"[a-z0-9][a-z0-9._+]{0,15}", fullmatch=True),
                   st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True), st.sampled_from(["cn", "gov.cn", "com"]))
identifiers = st.one_of(id_numbers().map(lambda v: (ID_NUMBER, v)), phones.map(lambda v: (PHONE, v)),
                        emails.map(lambda v: (EMAIL, v)))


@st.composite
def spelled(draw, identifier):
    """One way a person might type the identifier."""
    kind, value = identifier
    chars = list(value)
    if kind == EMAIL:
        chars = [draw(st.sampled_from([c, c.upper()])) for c in chars]
        chars = [draw(st.sampled_from(["@", "＠"])) if c == "@" else c for c in chars]
    else:
        chars = [draw(st.sampled_from([c, c.lower(), _full_width(c)])) for c in chars]
        out = []
        for c in chars:  # separators between characters, as in 139-1783-0529 or 1-3917830529
            out.append(c)
            if draw(st.integers(0, 4)) == 0:
                out.append(draw(st.sampled_from(SEPARATORS)))
        chars = out
        if kind == PHONE:
            chars = [draw(st.sampled_from(["", "+86", "+86 ", "0086", "0086-", "＋８６"]))] + chars
    space = st.sampled_from(["", " ", "\u3000", "\t"])
    return draw(space) + "".join(chars) + draw(space)


@given(st.data(), identifiers)
def test_every_spelling_has_the_canonical_key(data, identifier):
    kind, value = identifier
    typed = data.draw(spelled(identifier), label="typed")
    assert parse_login_identifier(typed) == LoginIdentifier(kind, value)


@given(st.data(), identifiers, identifiers)
def test_different_identifiers_do_not_collide(data, a, b):
    key_a = parse_login_identifier(data.draw(spelled(a), label="a")).key
    key_b = parse_login_identifier(data.draw(spelled(b), label="b")).key
    assert (key_a == key_b) == (a == b)


@given(id_numbers(), st.integers(0, 17), st.sampled_from("0123456789X"))
def test_an_id_number_with_a_changed_character_is_malformed(number, position, char):
    changed = number[:position] + char + number[position + 1:]
    if changed != number and not is_valid_id_number(changed):
        with pytest.raises(MalformedIdNumber):
            parse_login_identifier(changed)


@given(id_numbers(), st.sampled_from(["drop", "add"]), st.integers(0, 17))
def test_an_id_number_of_the_wrong_length_is_malformed(number, change, position):
    changed = (number[:position] + number[position + 1:] if change == "drop"
               else number[:position] + "7" + number[position:])
    with pytest.raises(MalformedIdNumber):
        parse_login_identifier(changed)


@given(st.text(max_size=80))
def test_any_text_parses_or_is_a_malformed_id_number(text):
    try:
        identifier = parse_login_identifier(text)
    except MalformedIdNumber:
        return
    if identifier is not None:
        assert identifier.kind in (ID_NUMBER, PHONE, EMAIL, OTHER)
        assert parse_login_identifier(identifier.value) in (identifier, LoginIdentifier(OTHER, identifier.value))


@pytest.mark.parametrize("typed, expected", [
    ("139-1783-0529", (PHONE, "13917830529")),
    ("1-3917830529", (PHONE, "13917830529")),
    ("+86 (139) 1783 0529", (PHONE, "13917830529")),
    ("+44 20 7946 0958", (PHONE, "+442079460958")),
    ("010-6552 9988", (PHONE, "01065529988")),
    ("11010519491231002x", (ID_NUMBER, "11010519491231002X")),
    ("ZhangSan@Example.GOV.CN", (EMAIL, "zhangsan@example.gov.cn")),
    ("ZhangSan", (OTHER, "zhangsan")),
    ("a@b", (OTHER, "a@b")),
])
def test_examples(typed, expected):
    assert parse_login_identifier(typed) == LoginIdentifier(*expected)


@pytest.mark.parametrize("typed", ["", "   ", None, "x" * 255, "1" * 100_000])
def test_empty_or_overlong_is_no_identifier(typed):
    assert parse_login_identifier(typed) is None
