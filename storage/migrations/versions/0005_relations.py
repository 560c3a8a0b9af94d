"""matches.relation, .score and .opening: what one text is to the other; clusters.core

Revision ID: 0005_relations
Revises: 0004_chrome
Create Date: 2026-12-07 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_relations"
down_revision: str | None = "0004_chrome"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Matches recorded before were all taken as the same story.
    op.add_column("matches", sa.Column("relation", sa.String(16), nullable=False, server_default="duplicate"))
    op.add_column("matches", sa.Column("score", sa.Float(), nullable=False, server_default="0"))
    op.add_column("matches", sa.Column("opening", sa.SmallInteger(), nullable=False, server_default="0"))
    # Unknown for clusters made before: the next regroup of each sets it.
    op.add_column("clusters", sa.Column("core", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("clusters", "core")
    op.drop_column("matches", "opening")
    op.drop_column("matches", "score")
    op.drop_column("matches", "relation")
