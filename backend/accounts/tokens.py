"""Personal API tokens: make, list, revoke, and check one presented by a client.

A token is ``arb_`` and 43 random characters (256 bits). Only its SHA-256 is stored:
a fast hash is enough for a secret of that strength, and it lets a request find its
token with one indexed lookup. The token is returned once, by ``token_create``.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from backend.accounts.models import ApiToken, User
from backend.audit.models import AuditAction
from backend.audit.services import audit_record
from backend.common.errors import ArborError, NotFound, ValidationFailed

PREFIX = "arb_"
MAX_ACTIVE_TOKENS = 20
MAX_EXPIRY_DAYS = 3650
# ``last_used_at`` is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def is_personal_token(key: str) -> bool:
    return key.startswith(PREFIX)


def _active(user_id: int) -> Any:
    now = timezone.now()
    return ApiToken.objects.filter(user_id=user_id, revoked_at__isnull=True).exclude(
        expires_at__lte=now
    )


def token_create(
    *, user: User, name: str, expires_in_days: int | None = None
) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns the row and the token (shown only now)."""
    name = name.strip()
    if not name:
        raise ValidationFailed("name", "required", "Give the token a name.")
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        raise ValidationFailed(
            "expires_in_days", "out_of_range", f"Between 1 and {MAX_EXPIRY_DAYS} days."
        )
    secret = PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()  # one maker at a time
        if _active(user.pk).count() >= MAX_ACTIVE_TOKENS:
            raise ArborError(
                "too_many_tokens",
                f"You have {MAX_ACTIVE_TOKENS} tokens; revoke one before making another.",
                status_code=409,
            )
        token = ApiToken.objects.create(
            user=user,
            name=name,
            key_hash=token_hash(secret),
            prefix=secret[: len(PREFIX) + 4],
            expires_at=(
                timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
            ),
        )
        audit_record(
            action=AuditAction.TOKEN_CREATED,
            target_type="token",
            target_id=token.pk,
            actor_id=user.pk,
            after={"name": token.name, "expires_at": _iso(token.expires_at)},
        )
    return token, secret


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def token_revoke(*, user: User, token_id: int) -> ApiToken:
    """Revoke one of ``user``'s tokens: refused at once by this process, within the
    authentication cache's few seconds by the others."""
    from backend.accounts.authentication import token_cache_clear

    with transaction.atomic():
        token = (
            ApiToken.objects.select_for_update()
            .filter(pk=token_id, user_id=user.pk, revoked_at__isnull=True)
            .first()
        )
        if token is None:
            raise NotFound("token_not_found", "No such token.")
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            action=AuditAction.TOKEN_REVOKED,
            target_type="token",
            target_id=token.pk,
            actor_id=user.pk,
            before={"name": token.name},
            after={"revoked_at": _iso(token.revoked_at)},
        )
        token_cache_clear()  # now, and again once committed (a request in between
        transaction.on_commit(token_cache_clear)  # could have cached it again)
    return token


def tokens_of(user: User) -> list[ApiToken]:
    """The person's tokens that still work, newest first."""
    return list(_active(user.pk).order_by("-id"))


def token_authenticate(key: str) -> tuple[User, ApiToken] | None:
    """The active user and token for a presented key, or None."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=token_hash(key), revoked_at__isnull=True)
        .first()
    )
    now = timezone.now()
    if token is None or (token.expires_at is not None and token.expires_at <= now):
        return None
    if not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token.user, token
