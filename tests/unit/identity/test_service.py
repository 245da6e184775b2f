"""Creating and finding people and legal entities; representation; password hashes."""
from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from argon2.low_level import Type

from idp.errors import AlreadyExists, NotFound, ValidationError
from idp.identity.models import RepresentationRole
from idp.identity.passwords import hash_password, verify_password
from idp.identity.service import (count_people, create_entity, create_person, find_entity,
                                  find_person_by_username, link_representative, representations_of)

ID_A = "11010519491231002X"
ID_B = "44030419900307123X"
ID_C = "310104198805120019"
USCC = "91350100M000100Y43"
OTHER_USCC = "91110000100000000R"


@pytest.fixture
def zhang(ctx):
    return create_person(id_number=ID_A, name="张三", password="correct horse battery", phone="13800138000",
                         email="ZhangSan@Example.gov.cn")


def test_fixture_numbers_are_valid():
    from idp.identity.numbers import is_valid_id_number, normalize_uscc
    assert all(is_valid_id_number(n) for n in (ID_A, ID_B, ID_C))
    assert normalize_uscc(OTHER_USCC) == OTHER_USCC


def test_create_person_normalises(zhang):
    assert zhang.id_number == ID_A and zhang.phone == "13800138000"
    assert zhang.email == "zhangsan@example.gov.cn"
    assert zhang.public_id and zhang.public_id != ID_A and len(zhang.public_id) >= 20
    assert count_people() == 1


@pytest.mark.parametrize("duplicate", [
    dict(id_number=ID_A),
    dict(id_number=ID_A.lower()),
    dict(id_number=ID_B, phone="+86 138 0013 8000"),
    dict(id_number=ID_B, phone="138-0013-8000"),
    dict(id_number=ID_B, email="ZHANGSAN@example.GOV.CN"),
], ids=["id", "id-lower-x", "phone-+86", "phone-dashes", "email-case"])
def test_duplicates_are_refused(zhang, duplicate):
    with pytest.raises(AlreadyExists):
        create_person(name="李四", password="another password", **duplicate)
    assert count_people() == 1


def test_distinct_people_can_be_created(zhang):
    other = create_person(id_number=ID_B, name="李四", phone="13900139000", email="lisi@example.gov.cn")
    assert other.id != zhang.id and count_people() == 2
    assert other.password_hash is None  # e.g. certificate-only account


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(id_number="110105194912310021", name="x"), "ID number"),
    (dict(id_number=ID_B, name=""), "name"),
    (dict(id_number=ID_B, name="x", password="short"), "password"),
    (dict(id_number=ID_B, name="x", phone="12ab"), "phone"),
    (dict(id_number=ID_B, name="x", email="not-an-email"), "email"),
])
def test_invalid_person_is_refused(ctx, kwargs, fragment):
    with pytest.raises(ValidationError, match=fragment):
        create_person(**kwargs)
    assert count_people() == 0


@pytest.mark.parametrize("username", [
    ID_A, ID_A.lower(), f"  {ID_A}  ",
    "13800138000", "+8613800138000", "+86 138 0013 8000", "138 0013 8000", "138-0013-8000",
    "zhangsan@example.gov.cn", "ZhangSan@Example.GOV.CN", " zhangsan@example.gov.cn ",
])
def test_find_person_by_username(zhang, username):
    found = find_person_by_username(username)
    assert found is not None and found.id == zhang.id


@pytest.mark.parametrize("username", [
    "", "   ", None, ID_B, "110105194912310021", "13900139000", "lisi@example.gov.cn", "zhangsan",
    "x" * 300 + "@example.gov.cn",
])
def test_find_person_by_username_unknown(zhang, username):
    assert find_person_by_username(username) is None


def test_entity_link_roles(zhang):
    li = create_person(id_number=ID_B, name="李四")
    entity = create_entity(uscc=USCC.lower(), name="示例科技有限公司")
    assert entity.uscc == USCC and find_entity(USCC).id == entity.id

    link = link_representative(uscc=USCC, id_number=ID_A.lower(), role="legal_representative")
    assert link.role is RepresentationRole.legal_representative
    assert link.person.id == zhang.id and link.entity.id == entity.id
    link_representative(uscc=USCC, id_number=ID_B, role="agent")
    link_representative(uscc=USCC, id_number=ID_A, role="agent")  # another role for the same person

    assert sorted(r.role.value for r in representations_of(zhang)) == ["agent", "legal_representative"]
    assert [(r.entity.uscc, r.role.value) for r in representations_of(li)] == [(USCC, "agent")]

    with pytest.raises(AlreadyExists):
        link_representative(uscc=USCC, id_number=ID_A, role="legal_representative")
    with pytest.raises(ValidationError, match="role"):
        link_representative(uscc=USCC, id_number=ID_A, role="owner")
    with pytest.raises(NotFound):
        link_representative(uscc=OTHER_USCC, id_number=ID_A, role="agent")
    with pytest.raises(NotFound):
        link_representative(uscc=USCC, id_number=ID_C, role="agent")
    assert len(representations_of(zhang)) == 2


def test_entity_duplicates_and_invalid_codes(ctx):
    create_entity(uscc=USCC, name="示例科技有限公司")
    with pytest.raises(AlreadyExists):
        create_entity(uscc=USCC.lower(), name="Another")
    with pytest.raises(ValidationError):
        create_entity(uscc="91350100M000100Y44", name="Bad")
    with pytest.raises(ValidationError, match="name"):
        create_entity(uscc=OTHER_USCC, name="  ")
    assert find_entity(OTHER_USCC) is None


def test_passwords_are_argon2id_with_owasp_parameters(zhang):
    assert zhang.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert "correct horse battery" not in zhang.password_hash
    assert verify_password("correct horse battery", zhang.password_hash) == (True, None)
    assert verify_password("wrong password", zhang.password_hash) == (False, None)
    assert hash_password("same") != hash_password("same"), "hashes must be salted"


def test_weaker_hashes_verify_and_are_upgraded():
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1, type=Type.ID).hash("old password")
    ok, new_hash = verify_password("old password", weak)
    assert ok and new_hash and new_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert verify_password("old password", new_hash) == (True, None)


def test_missing_or_garbage_hash_never_verifies():
    assert verify_password("anything", None) == (False, None)
    assert verify_password("anything", "") == (False, None)
    assert verify_password("anything", "$argon2id$garbage") == (False, None)
