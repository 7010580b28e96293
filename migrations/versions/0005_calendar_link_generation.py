"""calendar link generation

Revision ID: 0005_calendar_generation
Revises: 0004_event_suspension
Create Date: 2026-12-03 10:00:00

A member's calendar-feed link carries this number; "Reset my calendar link" bumps it, and every
link made before stops working. With a server default, existing links (generation 0) go on
working until their owner resets them.
"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0005_calendar_generation"
down_revision = "0004_event_suspension"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("calendar_generation", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("calendar_generation")
