"""When an operator last sent a notification again.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# A delivery gives up NOTIFY_GIVE_UP_SECONDS after it began: after it was made,
# or after an operator sent it again (procserv resend-notifications).
UPGRADE = """
ALTER TABLE ad_notification ADD COLUMN resent timestamptz;
"""

DOWNGRADE = """
ALTER TABLE ad_notification DROP COLUMN resent;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
