"""Celery workers: run instances, and (later) deliver notifications and sweep."""
