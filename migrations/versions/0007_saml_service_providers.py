"""saml service providers and signing keys

Revision ID: 0007_saml_service_providers
Revises: 0006_audit_sealing_job_leases
"""
from alembic import op
import sqlalchemy as sa


revision = '0007_saml_service_providers'
down_revision = '0006_audit_sealing_job_leases'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('saml_service_providers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entity_id', sa.String(length=1024), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('metadata_xml', sa.Text(), nullable=False),
    sa.Column('metadata_url', sa.Text(), nullable=True),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('require_signed_requests', sa.Boolean(), nullable=False),
    sa.Column('single_logout', sa.Boolean(), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('entity_id')
    )
    op.create_table('saml_signing_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('private_key', sa.Text(), nullable=False),
    sa.Column('certificate', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kid')
    )


def downgrade() -> None:
    op.drop_table('saml_signing_keys')
    op.drop_table('saml_service_providers')
