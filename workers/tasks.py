"""Celery tasks. Each takes an id, reloads the row and does nothing if the row has
already moved on."""

from __future__ import annotations

import psycopg
from celery import Task

from app.settings import get_settings
from workers import notify, runner, sweeper
from workers.celery_app import DELIVER_NOTIFICATION, RUN_INSTANCE, SWEEP, app


@app.task(name=RUN_INSTANCE, bind=True)
def run_instance(self: Task, instance_id: int) -> None:  # type: ignore[type-arg]
    runner.run_instance(
        get_settings(), instance_id, worker=self.request.hostname or "", celery=app
    )


# Retried by its own count of tries (ad_notification.attempts, NOTIFY_MAX_RETRIES),
# which a resend by the sweeper continues, so Celery's count is not limited;
# past that count the sweeper alone sends it again (notify.resend_stalled).
@app.task(name=DELIVER_NOTIFICATION, bind=True, max_retries=None)
def deliver_notification(self: Task, notification_id: int) -> None:  # type: ignore[type-arg]
    settings = get_settings()
    try:
        # The notify worker runs its tasks on threads (procserv worker --pool).
        threads = int(self.app.conf.worker_concurrency or 1)
        with runner.connection(settings, threads) as conn:
            notify.deliver(settings, conn, notification_id)
    except notify.TryAgain as again:
        raise self.retry(countdown=again.seconds, exc=again.error) from None
    except psycopg.OperationalError as error:
        # The database is out of reach, so nothing was recorded; past these
        # tries the sweeper sends the delivery again.
        seconds = notify.backoff(settings, self.request.retries + 1)
        raise self.retry(
            countdown=seconds, exc=error, max_retries=settings.notify_max_retries
        ) from None


@app.task(name=SWEEP)
def sweep() -> int:
    settings = get_settings()
    resent = sweeper.resend_lost(settings, app)
    with runner.connection(settings) as conn:
        return resent + notify.resend_stalled(settings, conn, app)
