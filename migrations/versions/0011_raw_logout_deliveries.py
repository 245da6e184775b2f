"""queued logout messages may be a raw body (SAML SOAP LogoutRequests) besides a form field

Rows stored before are form-field messages (the default kind) checked by their HTTP status alone (no
content type, no answer check).

Revision ID: 0011_raw_logout_deliveries
Revises: 0010_passkeys
Create Date: 2026-12-04 13:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011_raw_logout_deliveries'
down_revision = '0010_passkeys'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('logout_deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=8), server_default='form', nullable=False))
        batch_op.add_column(sa.Column('content_type', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('answer_check', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('logout_deliveries', schema=None) as batch_op:
        batch_op.drop_column('answer_check')
        batch_op.drop_column('content_type')
        batch_op.drop_column('kind')
