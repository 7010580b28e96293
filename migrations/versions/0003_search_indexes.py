"""search and sitemap indexes

Revision ID: 0003_search_indexes
Revises: 0002_booking_token
Create Date: 2026-11-25 19:19:42.858441

Found with scripts/explain_queries.py on the `flask seed bulk` data set (100k events):
searching by city scanned every upcoming event's entry of ix_events_active_start_city (the
home page's top cities now count per city on the new index too), and later sitemap files read
the whole events table in id order.
"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "0003_search_indexes"
down_revision = "0002_booking_token"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_events_active_city_start", ["is_active", "city_id", "starts_at"], unique=False
        )
        batch_op.create_index(
            "ix_events_active_id",
            ["is_active", "id"],
            unique=False,
            postgresql_include=["starts_at"],
        )


def downgrade():
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_active_id", postgresql_include=["starts_at"])
        batch_op.drop_index("ix_events_active_city_start")
