"""audit records sealed in batches, signed checkpoints, job leases, queued logout deliveries, shared CRLs

Audit records are now appended without a chain position (no lock on the token path) and chained
later by the sealer: ``seq``, ``prev_hash`` and ``hash`` become nullable. Records already stored keep
their values: they count as sealed, and the chain they form keeps verifying. The sealer's first run
signs a checkpoint of the head.

Revision ID: 0006_audit_sealing_job_leases
Revises: 0005_canonical_login_identifiers
Create Date: 2026-12-04 10:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_audit_sealing_job_leases'
down_revision = '0005_canonical_login_identifiers'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.alter_column('seq', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=True)
        batch_op.create_index('ix_audit_events_hash', ['hash'], unique=False)
        batch_op.create_index('ix_audit_events_unsealed', ['id'], unique=False,
                              sqlite_where=sa.text('seq IS NULL'), postgresql_where=sa.text('seq IS NULL'))

    op.create_table('audit_checkpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('head', sa.String(length=64), nullable=False),
    sa.Column('at', sa.Float(), nullable=False),
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('jws', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_checkpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_checkpoints_seq'), ['seq'], unique=False)

    op.create_table('job_leases',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('holder', sa.String(length=128), nullable=True),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('last_run_at', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('name')
    )

    op.create_table('logout_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=128), nullable=False),
    sa.Column('uri', sa.Text(), nullable=False),
    sa.Column('field', sa.String(length=32), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('accept_redirect', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.Float(), nullable=False),
    sa.Column('claimed_by', sa.String(length=128), nullable=True),
    sa.Column('claimed_until', sa.Float(), nullable=True),
    sa.Column('done_at', sa.Float(), nullable=True),
    sa.Column('delivered', sa.Boolean(), nullable=True),
    sa.Column('last_error', sa.String(length=255), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('logout_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_logout_deliveries_due', ['next_attempt_at'], unique=False,
                              sqlite_where=sa.text('done_at IS NULL'), postgresql_where=sa.text('done_at IS NULL'))

    op.create_table('crl_copies',
    sa.Column('source', sa.String(length=2048), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('fetched_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('source')
    )


def downgrade() -> None:
    op.drop_table('crl_copies')
    with op.batch_alter_table('logout_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_logout_deliveries_due', sqlite_where=sa.text('done_at IS NULL'),
                            postgresql_where=sa.text('done_at IS NULL'))
    op.drop_table('logout_deliveries')
    op.drop_table('job_leases')
    with op.batch_alter_table('audit_checkpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_checkpoints_seq'))
    op.drop_table('audit_checkpoints')
    # Records not yet sealed have no chain position, which the earlier schema requires: seal them first
    # (`idp audit seal`) rather than lose them.
    unsealed = op.get_bind().execute(sa.text('SELECT COUNT(*) FROM audit_events WHERE seq IS NULL')).scalar()
    if unsealed:
        raise RuntimeError(f'{unsealed} audit record(s) are not sealed yet; run `idp audit seal`, then downgrade')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_unsealed', sqlite_where=sa.text('seq IS NULL'),
                            postgresql_where=sa.text('seq IS NULL'))
        batch_op.drop_index('ix_audit_events_hash')
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('seq', existing_type=sa.Integer(), nullable=False)
