"""Arbor's Celery app and its thin tasks (they take ids and call backend services)."""

from tasks.celery import app

__all__ = ["app"]
