"""documents.lead: the story's lead that extraction put back in the text, which relations read as no prose

Revision ID: 0006_lead
Revises: 0005_relations
Create Date: 2026-12-07 08:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_lead"
down_revision: str | None = "0005_relations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Documents stored before had no lead put back: NULL is what they are.
    op.add_column("documents", sa.Column("lead", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("documents", "lead")
