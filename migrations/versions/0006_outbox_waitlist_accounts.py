"""outbox, waitlist, verified accounts

Revision ID: 0006_outbox_waitlist
Revises: 0005_calendar_generation
Create Date: 2026-12-01 00:00:00

- `outbox`: emails to send, written in the same transaction as what they are about; a Celery
  task sends each and marks it sent (eventmate/notifications).
- `waitlist_entries` and `events.seats_held`: a sold-out event's line, and seats held for the
  member offered them; booked + held never exceeds capacity.
- `events.cancelled_at`: called off by the host or an administrator.
- `users.email_verified_at` (accounts made before this are taken as verified: they were made
  when no email was asked for), `users.session_generation` (part of the login id: a password
  reset ends every session), `users.reminders_enabled`.
"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0006_outbox_waitlist"
down_revision = "0005_calendar_generation"
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")
IN_LINE = sa.text("status IN ('waiting', 'offered')")
STATUSES = "'waiting', 'offered', 'claimed', 'expired', 'declined', 'left', 'closed'"


def upgrade():
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("send_key", sa.String(length=160), nullable=False),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"],
                                name=op.f("fk_outbox_booking_id_bookings"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"],
                                name=op.f("fk_outbox_event_id_events"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_outbox_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )  # fmt: skip
    op.create_index("ix_outbox_booking", "outbox", ["booking_id"])
    op.create_index("ix_outbox_send_key", "outbox", ["send_key"], unique=True)
    op.create_index("ix_outbox_pending_due", "outbox", ["next_attempt_at"],
                    sqlite_where=PENDING, postgresql_where=PENDING)  # fmt: skip

    op.create_table(
        "waitlist_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hold_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(f"status IN ({STATUSES})", name=op.f("ck_waitlist_entries_status_known")),
        sa.CheckConstraint("quantity >= 1", name=op.f("ck_waitlist_entries_quantity_positive")),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"],
                                name=op.f("fk_waitlist_entries_booking_id_bookings"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"],
                                name=op.f("fk_waitlist_entries_event_id_events"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_waitlist_entries_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_entries")),
    )  # fmt: skip
    op.create_index("ix_waitlist_entries_event_status_created", "waitlist_entries",
                    ["event_id", "status", "created_at"])  # fmt: skip
    op.create_index("ix_waitlist_entries_in_line", "waitlist_entries", ["event_id", "user_id"],
                    unique=True, sqlite_where=IN_LINE, postgresql_where=IN_LINE)  # fmt: skip
    op.create_index("ix_waitlist_entries_status_expiry", "waitlist_entries",
                    ["status", "hold_expires_at"])  # fmt: skip
    op.create_index("ix_waitlist_entries_user_status", "waitlist_entries", ["user_id", "status"])

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seats_held", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint(op.f("ck_events_seats_within_capacity"), type_="check")
        batch_op.create_check_constraint(
            "seats_within_capacity",
            "seats_booked >= 0 AND seats_held >= 0 AND seats_booked + seats_held <= capacity",
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_generation", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("reminders_enabled", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    op.execute("UPDATE users SET email_verified_at = created_at")


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("reminders_enabled")
        batch_op.drop_column("email_verified_at")
        batch_op.drop_column("session_generation")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_events_seats_within_capacity"), type_="check")
        batch_op.create_check_constraint(
            "seats_within_capacity", "seats_booked >= 0 AND seats_booked <= capacity"
        )
        batch_op.drop_column("cancelled_at")
        batch_op.drop_column("seats_held")
    op.drop_table("waitlist_entries")
    op.drop_table("outbox")
