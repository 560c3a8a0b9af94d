"""Network boilerplate: which documents carry a sentence (by its template key), and the sentences found to be
a network's boilerplate

Revision ID: 0007_network
Revises: 0006_lead
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_network"
down_revision: str | None = "0006_lead"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Documents stored before carry no template sentences: they are not counted as carriers, and are read
    # with no network boilerplate until they are settled again.
    op.add_column("documents", sa.Column("boilerplate", sa.Text(), nullable=True))
    op.create_table(
        "template_sentences",
        sa.Column("template", sa.BigInteger(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("template", "document_id"),
    )
    op.create_index("ix_template_sentences_document", "template_sentences", ["document_id"])
    op.create_table(
        "network_sentences",
        sa.Column("template", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("template"),
    )


def downgrade() -> None:
    op.drop_table("network_sentences")
    op.drop_index("ix_template_sentences_document", table_name="template_sentences")
    op.drop_table("template_sentences")
    op.drop_column("documents", "boilerplate")
