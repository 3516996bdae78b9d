"""Celery workers: run instances, deliver their notifications, sweep lost ones."""
