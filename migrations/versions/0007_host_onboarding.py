"""host onboarding

Revision ID: 0007_host_onboarding
Revises: 0006_outbox_waitlist
Create Date: 2026-12-01 04:45:00

A member becomes a host from the site by accepting the host terms (`host_terms_accepted_at`
records when); an administrator can suspend someone's hosting (`hosting_suspended_at`), which
the site then won't let them take back. Hosts made before this accepted nothing on the site:
NULL.
"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0007_host_onboarding"
down_revision = "0006_outbox_waitlist"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("host_terms_accepted_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("hosting_suspended_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("hosting_suspended_at")
        batch_op.drop_column("host_terms_accepted_at")
