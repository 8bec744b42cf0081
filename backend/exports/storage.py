"""Where export files and uploaded imports live.

``STORAGES["exports"]`` when the settings define it (e.g. an S3 backend from
django-storages, so any web process or worker can serve a file another one wrote),
otherwise Django's default storage (local ``MEDIA_ROOT``).

Django calls a ``FileField``'s storage callable once, when the model class is created,
so the callable returns a lazy proxy: the choice is made on first use, and made again
when ``STORAGES`` changes (tests swap it).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.storage import Storage, default_storage, storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty

EXPORTS_STORAGE_ALIAS = "exports"


class _ExportStorage(LazyObject):
    def _setup(self) -> None:
        if EXPORTS_STORAGE_ALIAS in settings.STORAGES:
            self._wrapped = storages[EXPORTS_STORAGE_ALIAS]
        else:
            self._wrapped = default_storage


exports_storage = _ExportStorage()


def export_storage() -> Storage:
    return exports_storage  # type: ignore[return-value]


@receiver(setting_changed)
def _storages_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "STORAGES":
        exports_storage._wrapped = empty  # type: ignore[assignment]
