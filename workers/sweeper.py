"""The safety net behind the broker: PostgreSQL is the truth, so an instance that
is still queued long after it was sent is sent again. A message that was lost
(broker restarted without its data, a crash between commit and send) then still
runs; one that was only slow is claimed once, the extra copy finding nothing to do.
"""

from __future__ import annotations

import structlog
from celery import Celery

from app import instances
from app.db import connect
from app.settings import Settings
from workers.celery_app import RUN_INSTANCE

log = structlog.get_logger(__name__)


def resend_lost(settings: Settings, celery: Celery) -> int:
    with connect(settings.database_url, autocommit=True) as conn:
        due = instances.due_for_resend(conn, settings.resend_after_seconds)
    for row in due:
        celery.send_task(
            RUN_INSTANCE, args=[row["ad_pinstance_id"]], queue=row["queue"]
        )
        log.warning(
            "instance.resent", pinstance_id=row["ad_pinstance_id"], queue=row["queue"]
        )
    return len(due)
