"""Celery tasks. Each takes an id, reloads the row and does nothing if the row has
already moved on."""

from __future__ import annotations

from celery import Task

from app.settings import get_settings
from workers import runner, sweeper
from workers.celery_app import RUN_INSTANCE, SWEEP, app


@app.task(name=RUN_INSTANCE, bind=True)
def run_instance(self: Task, instance_id: int) -> None:  # type: ignore[type-arg]
    runner.run_instance(get_settings(), instance_id, worker=self.request.hostname or "")


@app.task(name=SWEEP)
def sweep() -> int:
    return sweeper.resend_lost(get_settings(), app)
