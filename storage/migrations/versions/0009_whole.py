"""matches.whole: whether the containing text holds all of the contained one's prose, which decides where a text
inside two others belongs

Revision ID: 0009_whole
Revises: 0008_links
Create Date: 2026-12-07 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_whole"
down_revision: str | None = "0008_links"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Matches recorded before say false: their texts are grouped by age alone, as before, until settled again.
    op.add_column("matches", sa.Column("whole", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("matches", "whole")
