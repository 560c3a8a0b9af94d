"""documents.headlines: the names a page gives its story besides its title, which tell a copy from another story
quoting it

Revision ID: 0010_headlines
Revises: 0009_whole
Create Date: 2026-12-08 00:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_headlines"
down_revision: str | None = "0009_whole"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Documents stored before are read by their title alone until fetched again.
    op.add_column("documents", sa.Column("headlines", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("documents", "headlines")
