"""sources: scheduled feeds, sitemaps and pages, their validators, and the entries they queued

Revision ID: 0002_sources
Revises: 0001
Create Date: 2026-11-21 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_sources"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("every_seconds", sa.Integer(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("discovered", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_poll", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_poll", sa.DateTime(timezone=True), nullable=True),
        sa.Column("documents_found", sa.Integer(), nullable=False),
        sa.Column("polls", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("url"),
    )
    op.create_index("ix_sources_next_poll", "sources", ["next_poll"], unique=False)

    op.create_table(
        "source_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("etag", sa.String(length=512), nullable=True),
        sa.Column("last_modified", sa.String(length=128), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_fetched", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_source_feeds_source_id", "source_feeds", ["source_id"], unique=False)
    op.create_index("ix_source_feeds_source_url", "source_feeds", ["source_id", "url"], unique=True)

    op.create_table(
        "source_entries",
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("queued", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("url"),
    )
    op.create_index("ix_source_entries_source_id", "source_entries", ["source_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_source_entries_source_id", table_name="source_entries")
    op.drop_table("source_entries")
    op.drop_index("ix_source_feeds_source_url", table_name="source_feeds")
    op.drop_index("ix_source_feeds_source_id", table_name="source_feeds")
    op.drop_table("source_feeds")
    op.drop_index("ix_sources_next_poll", table_name="sources")
    op.drop_table("sources")
