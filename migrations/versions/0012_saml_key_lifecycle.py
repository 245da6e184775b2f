"""SAML signing keys follow the OIDC key life cycle: a new key is published (pending) before it signs;
the times it started and stopped signing are recorded

Rows stored before keep their status (active, previous or retired) and have no such times.

Revision ID: 0012_saml_key_lifecycle
Revises: 0011_raw_deliveries_saml_options
Create Date: 2026-12-04 14:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012_saml_key_lifecycle'
down_revision = '0011_raw_deliveries_saml_options'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('saml_signing_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('deactivated_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # a key still waiting to sign cannot be represented before this revision: it is retired
    op.execute("UPDATE saml_signing_keys SET status = 'retired' WHERE status = 'pending'")
    with op.batch_alter_table('saml_signing_keys', schema=None) as batch_op:
        batch_op.drop_column('deactivated_at')
        batch_op.drop_column('activated_at')
