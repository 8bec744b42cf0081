"""The Django project. Importing it loads Arbor's Celery app, so that work enqueued by
name (``backend.common.outbox``) goes to that app in every process."""

from tasks.celery import app as celery_app

__all__ = ["celery_app"]
