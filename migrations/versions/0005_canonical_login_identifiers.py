"""canonical login identifiers

Phone numbers and e-mail addresses are now stored in the form the login form looks them up in:
full-width characters in their plain form, dots and brackets dropped from phone numbers along with
spaces and dashes, a 0086 prefix dropped like +86. Rows written under the earlier rules (a phone
stored as 0086139…, an address with full-width letters) are rewritten to that form so their owners
can still log in with them. A row is left as it was when its canonical form is not valid under the
new rules or is already another person's.

The rules are copied here as they stood at this revision, so the migration does not change when
idp.identity.identifiers does.

Revision ID: 0005_canonical_login_identifiers
Revises: 0004_one_active_signing_key
Create Date: 2026-12-04 05:00:00
"""
import re
import unicodedata

from alembic import op
import sqlalchemy as sa


revision = '0005_canonical_login_identifiers'
down_revision = '0004_one_active_signing_key'
branch_labels = None
depends_on = None

persons = sa.table('persons', sa.column('id', sa.Integer), sa.column('phone', sa.String),
                   sa.column('email', sa.String))

_PHONE = re.compile(r"\+?[0-9]{6,15}", re.ASCII)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def canonical_phone(value: str) -> str | None:
    value = "".join(c for c in unicodedata.normalize("NFKC", value).strip()
                    if not (c.isspace() or c in "().·" or unicodedata.category(c) == "Pd"))
    for prefix in ("+86", "0086"):
        if value.startswith(prefix):
            value = value[len(prefix):]
            break
    return value if _PHONE.fullmatch(value) else None


def canonical_email(value: str) -> str | None:
    value = unicodedata.normalize("NFKC", value).strip().lower()
    return value if _EMAIL.fullmatch(value) and len(value) <= 254 else None


def _rewrite(conn, column, canonical) -> None:
    rows = conn.execute(sa.select(persons.c.id, column).where(column.is_not(None))).all()
    taken = {value for _, value in rows}
    for person_id, value in rows:
        new = canonical(value)
        if new is None or new == value or new in taken:
            continue
        conn.execute(persons.update().where(persons.c.id == person_id).values({column.name: new}))
        taken.discard(value)
        taken.add(new)


def upgrade() -> None:
    conn = op.get_bind()
    _rewrite(conn, persons.c.phone, canonical_phone)
    _rewrite(conn, persons.c.email, canonical_email)


def downgrade() -> None:
    pass  # the canonical forms are valid under the earlier rules too
