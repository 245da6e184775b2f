"""Login identifiers over the login form: every spelling of one person's identifiers counts against
that person's lock; unknown identifiers lock the same way; malformed ID numbers are named as such."""
from __future__ import annotations

import pytest

from helpers import CITIZEN_ID, CITIZEN_PASSWORD, csrf_token

# The citizen's ID number, phone 13800138000 and e-mail address, spelled as people type them.
SPELLINGS = [
    "138-0013-8000", "1-3800138000", "+86 138 0013 8000", "0086 13800138000", "(138) 0013 8000",
    "１３８００１３８０００", "138.0013.8000", CITIZEN_ID.lower(), f" {CITIZEN_ID[:6]} {CITIZEN_ID[6:]} ",
    "ZhangSan@Example.GOV.cn", "zhangsan＠example.gov.cn", "+8613800138000",
]
UNKNOWN_PHONE_SPELLINGS = ["139-1783-0529", "1-3917830529", "+86 139 1783 0529", "13917830529",
                           "１３９１７８３０５２９", "0086-139-1783-0529"]


def _post_login(browser, username, password, lang="en"):
    page = browser.client.get("/login?lang=" + lang)
    return browser.client.post("/login", data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                               "username": username, "password": password})


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_logs_in(browser, citizen, spelling):
    response = _post_login(browser, spelling, CITIZEN_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"].endswith("/account")


def test_a_lock_taken_through_many_spellings_holds_for_every_spelling(browser, citizen):
    # five wrong guesses (the limit), each through another spelling of one of the citizen's identifiers
    for spelling in SPELLINGS[:5]:
        assert _post_login(browser, spelling, "wrong password").status_code == 401
    # more guesses through other spellings are refused without being tried
    for spelling in SPELLINGS[5:]:
        locked = _post_login(browser, spelling, "wrong password")
        assert locked.status_code == 429 and "Too many failed attempts" in locked.get_data(as_text=True)
    # and the right password after the lock is refused, whichever spelling carries it
    for spelling in [CITIZEN_ID, "13800138000", "zhangsan@example.gov.cn", "138 0013 8000"]:
        refused = _post_login(browser, spelling, CITIZEN_PASSWORD)
        assert refused.status_code == 429 and "idp_session" not in refused.headers.get("Set-Cookie", "")


def test_unknown_accounts_lock_like_known_ones(browser, citizen):
    """Spellings of a number nobody registered get the same answers, in the same order, as the
    citizen's own: a lock reveals nothing about whether the account exists."""
    unknown = [_post_login(browser, s, "wrong password").status_code for s in UNKNOWN_PHONE_SPELLINGS]
    known = [_post_login(browser, s, "wrong password").status_code for s in SPELLINGS[:6]]
    assert unknown == known == [401] * 5 + [429]


def test_the_lock_is_per_account(browser, citizen, app):
    from idp.identity.service import create_person
    with app.app_context():
        create_person(id_number="44030419900307123X", name="李四", password="another password 1",
                      phone="13917830529")
    for spelling in UNKNOWN_PHONE_SPELLINGS[:5]:
        assert _post_login(browser, spelling, "wrong password").status_code == 401
    assert _post_login(browser, "44030419900307123x", "another password 1").status_code == 429
    assert _post_login(browser, "138 0013 8000", CITIZEN_PASSWORD).status_code == 302


@pytest.mark.parametrize("number", [
    CITIZEN_ID[:-1] + "3",        # wrong check character
    CITIZEN_ID[:-1],              # 17 characters
    CITIZEN_ID + "1",             # 19 characters
    CITIZEN_ID[:10] + "1399" + CITIZEN_ID[14:],  # no 99th day of month
    "1101051949123100",           # 16 digits: too long for a phone number
])
@pytest.mark.parametrize("lang, message", [
    ("en", "This is not a valid ID number. Check its 18 characters: the last one is a digit or X."),
    ("zh", "这不是有效的居民身份证号码。请核对全部18位：最后一位是数字或X。"),
])
def test_a_malformed_id_number_is_named_as_such(browser, citizen, number, lang, message):
    response = _post_login(browser, number, CITIZEN_PASSWORD, lang=lang)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and message in html
    assert "Wrong username or password." not in html and "账号或密码错误" not in html


def test_a_valid_unknown_id_number_gets_the_usual_message(browser, citizen):
    for lang, message in (("en", "Wrong username or password."), ("zh", "账号或密码错误。")):
        response = _post_login(browser, "44030419900307123X", CITIZEN_PASSWORD, lang=lang)
        assert response.status_code == 401 and message in response.get_data(as_text=True)


def test_a_password_hashed_with_older_parameters_is_hashed_again_at_login(app, browser, citizen):
    from argon2 import PasswordHasher, Type
    from sqlalchemy import update

    from idp.extensions import db
    from idp.identity.models import Person
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1, type=Type.ID).hash(CITIZEN_PASSWORD)
    with app.app_context():
        db.session.execute(update(Person).where(Person.public_id == citizen).values(password_hash=weak))
        db.session.commit()
    response = _post_login(browser, CITIZEN_ID, CITIZEN_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"].endswith("/account")
    with app.app_context():
        stored = db.session.scalar(db.select(Person.password_hash).where(Person.public_id == citizen))
    assert stored != weak and stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    # the new hash is the one that logs in now, in another browser
    other = type(browser)(app.test_client())
    assert _post_login(other, "13800138000", CITIZEN_PASSWORD).status_code == 302
    assert _post_login(other, "13800138000", "not the password").status_code == 401
