"""The Celery application shared by the API (to send) and the workers (to run).

Start a worker with ``celery -A workers.celery_app worker -Q <queues>``.
"""

from __future__ import annotations

from celery import Celery
from celery.signals import setup_logging

from app.logs import configure_logging
from app.settings import Settings, get_settings

RUN_INSTANCE = "procserv.run_instance"
SWEEP = "procserv.sweep"
DELIVER_NOTIFICATION = "procserv.deliver_notification"


def create_celery(settings: Settings) -> Celery:
    app = Celery("procserv", broker=settings.redis_url, include=["workers.tasks"])
    transport: dict[str, object] = {
        "visibility_timeout": settings.visibility_timeout_seconds,
    }
    if settings.queue_prefix:
        # Celery's own Redis keys (unacked messages, bindings) are shared by every
        # queue of a database; a prefix keeps a test run's apart from a service's.
        transport["global_keyprefix"] = settings.queue_prefix
    app.conf.update(
        broker_transport_options=transport,
        broker_connection_retry_on_startup=True,
        task_default_queue=settings.queue(settings.default_queue),
        # Where a delivery goes when no queue is named (workers.notify names the
        # mail queue for mail); a retry stays on the queue it came from.
        task_routes={
            DELIVER_NOTIFICATION: {"queue": settings.queue(settings.notify_queue)}
        },
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        # A message is acknowledged when its run ends, so a worker that dies
        # mid-run does not lose it; the claim makes a second delivery harmless.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        worker_send_task_events=True,
        task_send_sent_event=True,
        beat_schedule={
            "sweep": {
                "task": SWEEP,
                "schedule": settings.sweep_every_seconds,
                # Not behind long jobs: the sweep is quick, and resends mail.
                "options": {"queue": settings.queue(settings.notify_queue)},
            }
        },
    )
    return app


app = create_celery(get_settings())


@setup_logging.connect
def _configure_logging(**_: object) -> None:
    # Connected, this signal keeps Celery from installing its own log handlers.
    configure_logging(get_settings())
