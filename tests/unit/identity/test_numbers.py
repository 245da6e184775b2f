"""Citizen ID numbers (GB 11643-1999) and unified social credit codes (GB 32100-2015)."""
from __future__ import annotations

import pytest

from idp.errors import ValidationError
from idp.identity.numbers import is_valid_id_number, mask_id_number, normalize_id_number, normalize_uscc

VALID_ID = "11010519491231002X"
VALID_USCC = "91350100M000100Y43"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def id_check_character(first17: str) -> str:
    """ISO 7064 MOD 11-2, computed here independently of the code under test."""
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(first17))
    return "10X98765432"[total % 11]


def test_check_character_helper_agrees_with_the_known_number():
    assert id_check_character(VALID_ID[:17]) == "X"


def test_valid_id_number():
    assert normalize_id_number(VALID_ID) == VALID_ID
    assert is_valid_id_number(VALID_ID)


def test_wrong_check_character_is_invalid():
    assert not is_valid_id_number("110105194912310021")
    with pytest.raises(ValidationError) as info:
        normalize_id_number("110105194912310021")
    assert "110105194912310021" not in str(info.value), "the full number must not appear in messages"
    assert mask_id_number("110105194912310021") in str(info.value)


@pytest.mark.parametrize("raw", ["11010519491231002x", " 11010519491231002x ", "\t11010519491231002X\n",
                                 "110105 19491231 002X", "110105-19491231-002x", "１１０１０５１９４９１２３１００２Ｘ"])
def test_lower_case_x_whitespace_dashes_and_full_width_are_normalised(raw):
    assert normalize_id_number(raw) == VALID_ID


@pytest.mark.parametrize("raw", ["1101051949123100", "11010519491231002", "11010519491231002X0", "",
                                 "110105491231002"])
def test_wrong_length_is_refused(raw):
    with pytest.raises(ValidationError, match="18 characters"):
        normalize_id_number(raw)
    assert not is_valid_id_number(raw)


def test_every_single_digit_change_is_detected():
    for position in range(17):
        for digit in "0123456789":
            if digit == VALID_ID[position]:
                continue
            changed = VALID_ID[:position] + digit + VALID_ID[position + 1:]
            assert not is_valid_id_number(changed), changed


@pytest.mark.parametrize("first17", ["11010519491331002", "11010519490230002", "11010529491231002"])
def test_impossible_birth_date_is_invalid_even_with_a_correct_check_character(first17):
    assert not is_valid_id_number(first17 + id_check_character(first17))


def test_another_correctly_computed_number_is_valid():
    first17 = "44030419900307123"
    assert is_valid_id_number(first17 + id_check_character(first17))


@pytest.mark.parametrize("raw", ["1101051949123100AX", "X1010519491231002X", None, 11010519491231002])
def test_non_numeric_or_non_text_is_refused(raw):
    with pytest.raises(ValidationError):
        normalize_id_number(raw)


def test_valid_credit_code():
    assert normalize_uscc(VALID_USCC) == VALID_USCC
    assert normalize_uscc(" " + VALID_USCC.lower() + " ") == VALID_USCC


def test_credit_code_with_one_character_changed_is_invalid():
    with pytest.raises(ValidationError):
        normalize_uscc("91350100M000100Y44")
    for position in range(len(VALID_USCC)):
        for char in USCC_ALPHABET:
            if char == VALID_USCC[position]:
                continue
            changed = VALID_USCC[:position] + char + VALID_USCC[position + 1:]
            with pytest.raises(ValidationError):
                normalize_uscc(changed)


@pytest.mark.parametrize("raw", ["91350100M000100Y4", "91350100M000100Y433", "", "91350100M000100Y4I"])
def test_malformed_credit_code_is_refused(raw):
    with pytest.raises(ValidationError):
        normalize_uscc(raw)


def test_mask_keeps_only_the_ends():
    assert mask_id_number(VALID_ID) == "1101" + "*" * 10 + "002X"
    assert mask_id_number("123") == "***"


def test_birth_date_in_the_future_is_refused():
    import datetime
    next_year = datetime.date.today().year + 1
    first17 = f"110105{next_year}0101002"
    with pytest.raises(ValidationError, match="future"):
        normalize_id_number(first17 + id_check_character(first17))
