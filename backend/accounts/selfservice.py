"""A person's own account: download their data, delete the account, leaderboard choice.

Accounts sit low in the layers, but a person's data lives in every app above (their
messages in ``trees``, votes in ``assignments``, points in ``community``, reports in
``moderation``). So the higher apps **register** what they hold, in their
``AppConfig.ready()``, and the services here only call what was registered:

- ``personal_data_register(section, reader)``: ``reader(user_id)`` returns the JSON-able
  content of one section of "Download my data" — only this person's own rows, never
  another person's name or id.
- ``account_deletion_step_register(name, step)``: ``step(user_id)`` runs inside the
  deletion's transaction, before the personal fields are emptied, and settles what the
  app holds (moderation applies each project's ``on_account_deletion`` policy to the
  messages); it returns counts for the audit event.

See docs/accounts.md.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime
from typing import Any

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from backend.accounts.authentication import token_cache_clear
from backend.accounts.models import ApiToken, User
from backend.accounts.services import roles_of, user_profile_update
from backend.audit.models import AuditAction, AuditEvent
from backend.audit.services import audit_record
from backend.common.errors import Conflict, ValidationFailed

PersonalDataReader = Callable[[int], Any]
AccountDeletionStep = Callable[[int], dict[str, int]]

DATA_FORMAT = "arbor.personal-data.v1"
_readers: dict[str, PersonalDataReader] = {}
_deletion_steps: dict[str, AccountDeletionStep] = {}

# Audit events about a person whose payload is the person's own profile (their name,
# their words); deleting the account empties these payloads.
PROFILE_ACTIONS = (AuditAction.USER_CREATED, AuditAction.USER_PROFILE_UPDATED)


def personal_data_register(section: str, reader: PersonalDataReader) -> None:
    if section in _readers or section in ("format", "generated_at", "account", "audit"):
        raise ValueError(f"personal data section {section!r} is registered already")
    _readers[section] = reader


def account_deletion_step_register(name: str, step: AccountDeletionStep) -> None:
    if name in _deletion_steps:
        raise ValueError(f"account deletion step {name!r} is registered already")
    _deletion_steps[name] = step


def personal_data_sections() -> tuple[str, ...]:
    return ("account", *sorted(_readers), "audit")


def _account_section(user: User) -> dict[str, Any]:
    return {
        "id": user.pk,
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "date_joined": user.date_joined,
        "last_login": user.last_login,
        "languages": user.languages,
        "roles": roles_of(user),
        "show_on_leaderboard": user.show_on_leaderboard,
        "is_banned": user.is_banned,
    }


def _audit_section(user_id: int) -> list[dict[str, Any]]:
    """Events about the person (their account as the target). Who else acted is said
    only as a role ("me", "staff" or "system"), never by id or name; moderators'
    private notes are left out (``user.noted``)."""
    events = AuditEvent.objects.filter(target_type="user", target_id=str(user_id)).order_by("pk")
    rows = []
    for event in events:
        if event.action == AuditAction.USER_NOTED:
            continue
        if event.actor_id == user_id:
            by = "me"
        elif event.actor_id is None:
            by = "system"
        else:
            by = "staff"
        rows.append(
            {
                "action": event.action,
                "created_at": event.created_at,
                "by": by,
                "before": event.before,
                "after": event.after,
                "reason": event.reason,
            }
        )
    return rows


def account_data_collect(*, user: User) -> dict[str, Any]:
    """Everything Arbor holds about ``user``, one section per app, for download.

    Synchronous: each section reads one person's rows through indexes on the
    person's column (docs/accounts.md has the figures), and the download is audited.
    """
    data: dict[str, Any] = {
        "format": DATA_FORMAT,
        "generated_at": timezone.now(),
        "account": _account_section(user),
    }
    for section in sorted(_readers):
        data[section] = _readers[section](user.pk)
    data["audit"] = _audit_section(user.pk)
    audit_record(
        action=AuditAction.USER_DATA_DOWNLOADED,
        target_type="user",
        target_id=user.pk,
        actor_id=user.pk,
        after={"sections": list(data)},
    )
    return data


def deleted_username(user_id: int) -> str:
    """A stable pseudonym for a deleted account: the same for the same account every
    time, and not reversible to the person (a keyed hash of the account id)."""
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"deleted-user:{user_id}".encode(), hashlib.sha256
    ).hexdigest()
    return f"deleted-{digest[:12]}"


def _confirm(user: User, *, password: str, confirm: str) -> None:
    if user.has_usable_password():
        if not password:
            raise ValidationFailed("password", "required", "Type your password to confirm.")
        if not user.check_password(password):
            raise ValidationFailed("password", "wrong_password", "That is not your password.")
    elif confirm != user.username:
        # Accounts made through a social log-in have no password: typing the username
        # is the confirmation.
        raise ValidationFailed("confirm", "confirmation_mismatch", "Type your username to confirm.")


def _sessions_end(user_id: int) -> int:
    """Drop the person's stored sessions. (Emptying the password hash already makes
    them invalid; removing them keeps no trace of the person's log-ins.)"""
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user_id):
            session.delete()
            ended += 1
    return ended


def _linked_accounts_remove(user: User) -> dict[str, int]:
    """Email addresses, social log-ins (their tokens go with them) and the log-in
    records kept against the username (addresses and browsers of past log-ins)."""
    emails, _ = EmailAddress.objects.filter(user=user).delete()
    social = SocialAccount.objects.filter(user=user).count()
    SocialAccount.objects.filter(user=user).delete()
    login_records = 0
    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        deleted, _ = model.objects.filter(username=user.username).delete()
        login_records += deleted
    return {"email_addresses": emails, "social_accounts": social, "login_records": login_records}


def account_delete(*, user: User, password: str = "", confirm: str = "") -> User:
    """Delete the person's account: confirmed by their password (or, without one, by
    typing their username), then their personal data goes and log-in is impossible.

    The row stays, emptied: the username becomes ``deleted_username``, every name,
    the email, languages, roles, password, API tokens, sessions, email addresses and
    social accounts go; ``is_active`` false and ``deleted_at`` set. What the higher
    apps hold is settled first by their registered steps (each project's
    ``on_account_deletion`` policy). The audit event names no one: its target is the
    account id, its payload counts.
    """
    _confirm(user, password=password, confirm=confirm)
    with transaction.atomic():
        locked = get_user_model().objects.select_for_update().get(pk=user.pk)
        if locked.deleted_at is not None:
            raise Conflict("account_deleted", "This account is deleted.")
        counts: dict[str, int] = {}
        for name in sorted(_deletion_steps):
            for key, value in _deletion_steps[name](locked.pk).items():
                counts[key] = counts.get(key, 0) + value
        counts.update(_linked_accounts_remove(locked))
        legacy_tokens, _ = Token.objects.filter(user=locked).delete()
        personal_tokens, _ = ApiToken.objects.filter(user=locked).delete()
        counts["api_tokens"] = legacy_tokens + personal_tokens
        counts["sessions"] = _sessions_end(locked.pk)
        now: datetime = timezone.now()
        locked.username = deleted_username(locked.pk)
        locked.email = ""
        locked.first_name = ""
        locked.last_name = ""
        locked.display_name = ""
        locked.languages = []
        locked.show_on_leaderboard = False
        locked.is_active = False
        locked.is_staff = False
        locked.is_superuser = False
        locked.deleted_at = now
        locked.set_unusable_password()
        locked.save()
        locked.groups.clear()
        # The profile the person once gave is personal data too.
        AuditEvent.objects.filter(
            target_type="user", target_id=str(locked.pk), action__in=PROFILE_ACTIONS
        ).update(before={}, after={})
        audit_record(
            action=AuditAction.USER_DELETED,
            target_type="user",
            target_id=locked.pk,
            actor_id=locked.pk,
            after=counts,
        )
        transaction.on_commit(token_cache_clear)
    return locked


def user_leaderboard_visibility_set(*, user: User, show: bool) -> User:
    """The person's choice to appear on leaderboards (an opt-out; audited)."""
    return user_profile_update(
        user=user,
        display_name=user.display_name,
        languages=list(user.languages),
        show_on_leaderboard=show,
    )
