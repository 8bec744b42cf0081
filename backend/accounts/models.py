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


class ApiToken(models.Model):
    """A personal API token: named, several per person, stored as a SHA-256 hash (the
    token itself is shown once, when it is made), with an optional expiry and a
    last-used time. ``create_user --token`` keeps making DRF's single token, which the
    API still accepts (docs/api.md)."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    # The first characters, so a person can tell their tokens apart.
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
