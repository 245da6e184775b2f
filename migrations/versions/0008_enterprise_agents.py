"""enterprise authorisations: a legal representative authorises agents to act for the enterprise

Revision ID: 0008_enterprise_agents
Revises: 0007_saml_service_providers
Create Date: 2026-12-04 11:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008_enterprise_agents'
down_revision = '0007_saml_service_providers'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('enterprise_authorisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('granted_by_id', sa.Integer(), nullable=True),
    sa.Column('portals', sa.JSON(), nullable=True),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('can_authorise', sa.Boolean(), nullable=False),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['entity_id'], ['entities.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['agent_id'], ['persons.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['granted_by_id'], ['persons.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('enterprise_authorisations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enterprise_authorisations_public_id'), ['public_id'], unique=True)
        batch_op.create_index(batch_op.f('ix_enterprise_authorisations_entity_id'), ['entity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_enterprise_authorisations_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_enterprise_authorisations_status'), ['status'], unique=False)


def downgrade() -> None:
    op.drop_table('enterprise_authorisations')
