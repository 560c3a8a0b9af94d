"""documents.attributions: the attribution lines an election reads, kept so it need not reread every text

Revision ID: 0003_attributions
Revises: 0002_sources
Create Date: 2026-11-21 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_attributions"
down_revision: str | None = "0002_sources"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL for documents stored before: the next election of their cluster fills it in.
    op.add_column("documents", sa.Column("attributions", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("documents", "attributions")
