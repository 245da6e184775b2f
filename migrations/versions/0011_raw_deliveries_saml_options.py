"""queued logout messages may be a raw body (SAML SOAP LogoutRequests) besides a form field; SAML
service providers get two switches: encrypted assertions and IdP-initiated login

Rows stored before are form-field messages (the default kind) checked by their HTTP status alone (no
content type, no answer check); service providers registered before keep plain assertions and accept
only logins they asked for.

Revision ID: 0011_raw_deliveries_saml_options
Revises: 0010_passkeys
Create Date: 2026-12-04 13:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011_raw_deliveries_saml_options'
down_revision = '0010_passkeys'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('logout_deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=8), server_default='form', nullable=False))
        batch_op.add_column(sa.Column('content_type', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('answer_check', sa.String(length=32), nullable=True))
    with op.batch_alter_table('saml_service_providers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('encrypt_assertions', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('idp_initiated', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('saml_service_providers', schema=None) as batch_op:
        batch_op.drop_column('idp_initiated')
        batch_op.drop_column('encrypt_assertions')
    with op.batch_alter_table('logout_deliveries', schema=None) as batch_op:
        batch_op.drop_column('answer_check')
        batch_op.drop_column('content_type')
        batch_op.drop_column('kind')
