"""one active signing key per algorithm

Workers starting together on a database without keys could each create a first key, and a
promotion could overlap a rotation: a partial unique index now allows one active key per algorithm.
Installations that already have several keep the newest active and make the others 'previous' (still
published, so tokens they signed keep verifying, and retired by the usual schedule).

Revision ID: 0004_one_active_signing_key
Revises: 0003_registration_tokens
Create Date: 2026-11-21 21:00:00
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = '0004_one_active_signing_key'
down_revision = '0003_registration_tokens'
branch_labels = None
depends_on = None

keys = sa.table('signing_keys', sa.column('id', sa.Integer), sa.column('alg', sa.String),
                sa.column('status', sa.String), sa.column('deactivated_at', sa.DateTime(timezone=True)))


def upgrade() -> None:
    conn = op.get_bind()
    newest_ids = conn.execute(sa.select(sa.func.max(keys.c.id)).where(keys.c.status == 'active')
                              .group_by(keys.c.alg)).scalars().all()
    if newest_ids:
        conn.execute(keys.update().where(keys.c.status == 'active', keys.c.id.not_in(newest_ids))
                     .values(status='previous', deactivated_at=datetime.now(timezone.utc)))
    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.create_index('uq_signing_keys_one_active', ['alg'], unique=True,
                              sqlite_where=sa.text("status = 'active'"),
                              postgresql_where=sa.text("status = 'active'"))


def downgrade() -> None:
    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.drop_index('uq_signing_keys_one_active',
                            sqlite_where=sa.text("status = 'active'"),
                            postgresql_where=sa.text("status = 'active'"))
