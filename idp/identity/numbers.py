"""National identifiers: GB 11643-1999 citizen ID numbers and GB 32100-2015 credit codes.

python-stdnum implements both check-character algorithms (ISO 7064 MOD 11-2 and the
GB 32100 MOD 31 scheme); we only normalise and translate its exceptions.
"""
from __future__ import annotations

import datetime
import unicodedata

from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError as StdnumError

from ..errors import ValidationError


def normalize_id_number(value: str) -> str:
    """Return the canonical 18-character ID number (upper-case X) or raise ValidationError."""
    if not isinstance(value, str):
        raise ValidationError("ID number must be text")
    candidate = _plain(value)
    if len(candidate) != 18:
        raise ValidationError("ID number must have 18 characters (GB 11643-1999)")
    try:
        number = ric.validate(candidate)
    except StdnumError as exc:
        raise ValidationError(f"invalid ID number {_mask(candidate)}: {_reason(exc)}") from None
    # python-stdnum checks that the birth date exists, not that it has happened
    if ric.get_birth_date(number) > datetime.date.today():
        raise ValidationError(f"invalid ID number {_mask(candidate)}: birth date is in the future")
    return number


def _plain(value: str) -> str:
    """Full-width characters (Chinese input methods) to plain ones, spaces and dashes dropped, upper case."""
    return "".join(c for c in unicodedata.normalize("NFKC", value)
                   if not (c.isspace() or unicodedata.category(c) == "Pd")).upper()


def normalize_uscc(value: str) -> str:
    """Return the canonical unified social credit code or raise ValidationError."""
    if not isinstance(value, str):
        raise ValidationError("credit code must be text")
    candidate = value.strip().upper()
    try:
        return uscc.validate(candidate)
    except StdnumError as exc:
        raise ValidationError(f"invalid unified social credit code {candidate!r}: {_reason(exc)}") from None


def is_valid_id_number(value: str) -> bool:
    try:
        normalize_id_number(value)
        return True
    except ValidationError:
        return False


def mask_id_number(value: str) -> str:
    return _mask(value)


def _mask(value: str) -> str:
    if len(value) < 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def _reason(exc: StdnumError) -> str:
    message = getattr(exc, "message", "") or str(exc)
    return message.rstrip(".").lower() or "check character does not match"
