"""documents.chrome: the host's chrome paragraphs a document's signature leaves out

Revision ID: 0004_chrome
Revises: 0003_attributions
Create Date: 2026-12-04 02:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_chrome"
down_revision: str | None = "0003_attributions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL for documents settled before: their chrome is counted from host_paragraphs, as it was.
    op.add_column("documents", sa.Column("chrome", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("documents", "chrome")
