"""Upgrading rewrites phone numbers and e-mail addresses stored under the earlier rules to the
canonical form, so their owners can log in with them; nothing is merged or lost."""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa

from helpers import make_settings
from idp import create_app
from idp.extensions import db
from idp.identity.models import Person
from idp.identity.service import find_person_by_username
from idp.migrate import upgrade

OLD_ROWS = [  # (id_number, phone, email) as the earlier normalisers stored them
    ("11010519491231002X", "008613917830529", "ｚｈａｎｇ@example.gov.cn"),
    ("44030419900307123X", "13700137000", None),
    ("310104198805120019", "008613700137000", None),       # canonical form is taken: left as it was
    ("110101199003074477", "12345678901234567", "li@example.gov.cn"),  # not a valid phone any more
]


def test_upgrade_rewrites_identifiers_stored_under_the_earlier_rules(tmp_path):
    app = create_app(make_settings(tmp_path))
    upgrade(app, "0004_one_active_signing_key")
    persons = Person.__table__
    with app.app_context():
        db.session.execute(persons.insert(), [
            dict(public_id=f"p{n}", id_number=id_number, id_type="id_card", name="x", phone=phone, email=email,
                 is_admin=False, disabled=False, created_at=datetime.now(timezone.utc))
            for n, (id_number, phone, email) in enumerate(OLD_ROWS)])
        db.session.commit()
    upgrade(app)
    with app.app_context():
        rows = db.session.execute(sa.select(persons.c.id_number, persons.c.phone, persons.c.email)).all()
        assert {id_number: (phone, email) for id_number, phone, email in rows} == {
            "11010519491231002X": ("13917830529", "zhang@example.gov.cn"),
            "44030419900307123X": ("13700137000", None),
            "310104198805120019": ("008613700137000", None),
            "110101199003074477": ("12345678901234567", "li@example.gov.cn"),
        }
        assert find_person_by_username("+86 139-1783-0529").id_number == "11010519491231002X"
        assert find_person_by_username("ＺＨＡＮＧ＠example.gov.cn").id_number == "11010519491231002X"
