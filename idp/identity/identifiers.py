"""Login identifiers: an ID number, a phone number or an e-mail address in one canonical form.

A person may type one identifier in many spellings: a lower-case x in the ID number, spaces,
dashes, dots or brackets in the phone number, a +86 or 0086 prefix, full-width digits from a
Chinese input method, an e-mail address in any case. Every spelling maps to one canonical value,
which is what is stored, looked up and throttled.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ..errors import ValidationError
from .numbers import normalize_id_number

ID_NUMBER = "id_number"
PHONE = "phone"
EMAIL = "email"
OTHER = "other"  # matches no account; still throttled by its own spelling

MAX_LENGTH = 254

_PHONE = re.compile(r"\+?[0-9]{6,15}", re.ASCII)  # E.164: at most 15 digits
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Digits only and too long for a phone number, or digits with the check character X anywhere:
# meant as an ID number, whatever its length.
_ID_NUMBER_ATTEMPT = re.compile(r"[0-9]{16,}|(?=.*[0-9])[0-9X]*X[0-9X]*", re.ASCII)
_CHINA = ("+86", "0086")


class MalformedIdNumber(ValidationError):
    """Typed as an ID number but not a valid one (length, check character, birth date or place)."""


@dataclass(frozen=True)
class LoginIdentifier:
    kind: str   # ID_NUMBER, PHONE, EMAIL or OTHER
    value: str  # canonical

    @property
    def key(self) -> str:
        """Distinct for distinct identifiers, the same for every spelling of one."""
        return f"{self.kind}:{self.value}"


def _unify(text: str) -> str:
    """Full-width and other compatibility characters to their plain form, outer spaces removed."""
    return unicodedata.normalize("NFKC", text).strip()


def _without_separators(text: str) -> str:
    return "".join(c for c in text if not (c.isspace() or c in "().·" or unicodedata.category(c) == "Pd"))


def normalize_phone(phone: str) -> str:
    value = _without_separators(_unify(phone or ""))
    for prefix in _CHINA:
        if value.startswith(prefix):
            value = value[len(prefix):]
            break
    if not _PHONE.fullmatch(value):
        raise ValidationError(f"invalid phone number {phone!r}")
    return value


def normalize_email(email: str) -> str:
    value = _unify(email or "").lower()
    if not _EMAIL.fullmatch(value) or len(value) > MAX_LENGTH:
        raise ValidationError(f"invalid email address {email!r}")
    return value


def parse_login_identifier(text: str | None) -> LoginIdentifier | None:
    """The canonical identifier for what was typed in the username field; None when empty or too long.

    Raises MalformedIdNumber when the text can only be meant as an ID number and is not a valid one.
    """
    if not text or len(text) > 4 * MAX_LENGTH:  # bound the work before normalising
        return None
    value = _unify(text)
    if not value or len(value) > MAX_LENGTH:
        return None
    if "@" in value:
        try:
            return LoginIdentifier(EMAIL, normalize_email(value))
        except ValidationError:
            return LoginIdentifier(OTHER, value.lower())
    compact = _without_separators(value).upper()
    if _ID_NUMBER_ATTEMPT.fullmatch(compact):
        try:
            return LoginIdentifier(ID_NUMBER, normalize_id_number(compact))
        except ValidationError as exc:
            raise MalformedIdNumber(str(exc)) from None
    try:
        return LoginIdentifier(PHONE, normalize_phone(compact))
    except ValidationError:
        return LoginIdentifier(OTHER, value.lower())
