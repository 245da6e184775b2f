"""Validation and normalisation of the identity numbers found in certificates.

ID cards (GB 11643) and unified social credit codes (GB 32100) are checked with python-stdnum;
the 9-character organisation code (GB 11714) is checked here because stdnum has no module for it.
"""
from __future__ import annotations

import re

from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

from .errors import BadIdCheck

PERSON_TYPES = {"id_card", "passport", "military", "hk_macao_permit", "taiwan_permit", "other_person"}
ENTITY_TYPES = {"uscc", "org_code", "business_registration", "tax_number", "other_entity"}
ID_TYPES = PERSON_TYPES | ENTITY_TYPES | {"entity_code"}

_DOCUMENT = re.compile(r"^[0-9A-Z]{5,24}$")
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _org_code_valid(code: str) -> bool:
    if not re.fullmatch(r"[0-9A-Z]{8}[0-9X]", code):
        return False
    total = sum(_ORG_ALPHABET.index(c) * w for c, w in zip(code[:8], _ORG_WEIGHTS))
    check = 11 - total % 11
    expected = {10: "X", 11: "0"}.get(check, str(check))
    return code[8] == expected


def _refuse(id_type: str) -> BadIdCheck:
    labels = {"id_card": ("ID card number", "身份证号码"),
              "uscc": ("unified social credit code", "统一社会信用代码"),
              "org_code": ("organisation code", "组织机构代码")}
    en, zh = labels.get(id_type, ("identity number", "证件号码"))
    return BadIdCheck(f"The {en} in the certificate fails its check.",
                      message_zh=f"证书中的{zh}校验不通过。")


def normalise(id_type: str, value: str) -> tuple[str, str]:
    """Return ``(id_type, number)`` normalised, or raise ``BadIdCheck``.

    ``entity_code`` means "USCC if 18 characters, organisation code if 9" — many CAs put the
    18-character credit code into the GM/T 0015 OrganizationCode extension.
    """
    text = re.sub(r"[\s\-]", "", value or "").upper()
    if id_type == "entity_code":
        id_type = "uscc" if len(text) == 18 else "org_code"
    try:
        if id_type == "id_card":
            return id_type, ric.validate(text)
        if id_type == "uscc":
            return id_type, uscc.validate(text)
    except ValidationError:
        raise _refuse(id_type) from None
    if id_type == "org_code":
        if not _org_code_valid(text):
            raise _refuse(id_type)
        return id_type, text
    if id_type == "tax_number" and len(text) == 18 and uscc.is_valid(text):
        return "uscc", text
    if not _DOCUMENT.match(text):
        raise _refuse(id_type)
    return id_type, text


def kind_of(id_type: str) -> str:
    return "person" if id_type in PERSON_TYPES else "entity"
