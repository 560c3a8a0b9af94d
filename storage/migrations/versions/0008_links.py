"""documents.links: the addresses the text's paragraphs link to, which relations read as a page's word on its source

Revision ID: 0008_links
Revises: 0007_network
Create Date: 2026-12-07 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_links"
down_revision: str | None = "0007_network"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Documents stored before had their links left out: NULL, no word on their source, as before.
    op.add_column("documents", sa.Column("links", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("documents", "links")
