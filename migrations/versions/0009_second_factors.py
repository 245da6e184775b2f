"""second factors (TOTP, SMS) and one-time recovery codes

Revision ID: 0009_second_factors
Revises: 0008_enterprise_agents
Create Date: 2026-12-04 12:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_second_factors'
down_revision = '0008_enterprise_agents'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('second_factors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('secret_sealed', sa.Text(), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('last_step', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('person_id', 'kind', name='uq_second_factor_kind')
    )
    op.create_index('ix_second_factors_person_id', 'second_factors', ['person_id'], unique=False)
    op.create_table('recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_recovery_codes_person_id', 'recovery_codes', ['person_id'], unique=False)
    op.create_index('ix_recovery_codes_code_hash', 'recovery_codes', ['code_hash'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_recovery_codes_code_hash', table_name='recovery_codes')
    op.drop_index('ix_recovery_codes_person_id', table_name='recovery_codes')
    op.drop_table('recovery_codes')
    op.drop_index('ix_second_factors_person_id', table_name='second_factors')
    op.drop_table('second_factors')
