"""event suspension and host state

Revision ID: 0004_event_suspension
Revises: 0003_search_indexes
Create Date: 2026-12-02 10:00:00

An administrator's suspension (`flask events suspend`), which the host can't lift, and whether
the host's account is active (`flask users deactivate` unlists a host's events). Both are
checked by Event.is_listed with is_active. Added with server defaults, so existing rows stay
listed and adding them rewrites no table on PostgreSQL (SQLite adds columns in place too).
"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0004_event_suspension"
down_revision = "0003_search_indexes"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("suspension_reason", sa.String(length=200), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("host_active", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    # Events of hosts whose accounts were deactivated before this migration: unlisted now.
    op.execute(
        "UPDATE events SET host_active = false"
        " WHERE host_id IN (SELECT id FROM users WHERE NOT is_active)"
    )


def downgrade():
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("host_active")
        batch_op.drop_column("suspension_reason")
        batch_op.drop_column("suspended_at")
