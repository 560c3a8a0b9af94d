"""matches.relation and .score: what one text is to the other; host_paragraphs.words: a paragraph's length

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
    # Matches recorded before were all taken as the same story; paragraphs counted before weigh one word.
    op.add_column("matches", sa.Column("relation", sa.String(16), nullable=False, server_default="duplicate"))
    op.add_column("matches", sa.Column("score", sa.Float(), nullable=False, server_default="0"))
    op.add_column("host_paragraphs", sa.Column("words", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    op.drop_column("host_paragraphs", "words")
    op.drop_column("matches", "score")
    op.drop_column("matches", "relation")
