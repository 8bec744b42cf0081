"""Logging filters (wired in ``LOGGING`` in the settings)."""

from __future__ import annotations

import logging


class ClientErrorsOneLine(logging.Filter):
    """A refused request (4xx) is logged as its one line, without the traceback
    Django attaches to ``django.request`` records (a 403 is the app working, not a
    fault). Server errors (5xx) keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        from_django = record.name.startswith(("django.request", "django.security"))
        if from_django and int(getattr(record, "status_code", 500) or 500) < 500:
            record.exc_info = None
            record.exc_text = None
        return True
