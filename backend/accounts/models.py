from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    """Roles are Django groups of these names; admins are staff users."""

    VOLUNTEER = "volunteer"
    MODERATOR = "moderator"
    RESEARCHER = "researcher"
    ADMIN = "admin"


GROUP_ROLES = (Role.VOLUNTEER, Role.MODERATOR, Role.RESEARCHER)


class User(AbstractUser):
    display_name = models.CharField(max_length=150, blank=True)
    is_banned = models.BooleanField(default=False)
    show_on_leaderboard = models.BooleanField(default=True)
    # Language codes the person can work in (their task languages, independent of the
    # language of the interface); the dashboard offers these first.
    languages = models.JSONField(default=list, blank=True)
    # Set when the person deleted their account: the row stays (their votes and the
    # audit log point at it) with every personal field emptied (docs/accounts.md).
    deleted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.display_name or self.username
