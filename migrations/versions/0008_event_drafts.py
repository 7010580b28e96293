"""event drafts

Revision ID: 0008_event_drafts
Revises: 0007_host_onboarding
Create Date: 2026-12-01 08:30:00

A new event is a draft (`published_at` NULL) that only its host sees, in a preview, until they
publish it; Event.is_listed requires it. Every event made before this was on the site as soon
as it was created: published then (created_at).
"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0008_event_drafts"
down_revision = "0007_host_onboarding"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE events SET published_at = created_at")


def downgrade():
    # Without the column a draft would be listed at once: it is kept, hidden (is_active off),
    # for its host to Reactivate from the dashboard when they are ready.
    op.execute("UPDATE events SET is_active = false WHERE published_at IS NULL")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("published_at")
