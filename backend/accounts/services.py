from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import transaction
from rest_framework.authtoken.models import Token

from backend.accounts.models import GROUP_ROLES, Role, User
from backend.audit.models import AuditAction
from backend.audit.services import audit_record
from backend.common.errors import Conflict, ValidationFailed


def roles_ensure_groups() -> None:
    for role in GROUP_ROLES:
        Group.objects.get_or_create(name=role)


def user_create(
    *,
    username: str,
    password: str,
    email: str = "",
    role: str = Role.VOLUNTEER,
    actor_id: int | None = None,
) -> User:
    """Create a user with a role; ``admin`` makes a staff superuser.

    An email given here counts as verified (the account was made by an operator).
    """
    if role not in Role.values:
        raise ValidationFailed("role", "invalid_role", f"Unknown role {role!r}.")
    if User.objects.filter(username=username).exists():
        raise Conflict("username_taken", f"A user named {username!r} exists.")
    with transaction.atomic():
        roles_ensure_groups()
        user = User.objects.create_user(username=username, email=email, password=password)
        if role == Role.ADMIN:
            user.is_staff = True
            user.is_superuser = True
            user.save(update_fields=["is_staff", "is_superuser"])
        else:
            user.groups.add(Group.objects.get(name=role))
        if email:
            _mark_email_verified(user, email)
        audit_record(
            action=AuditAction.USER_CREATED,
            target_type="user",
            target_id=user.pk,
            actor_id=actor_id,
            after={"username": username, "role": role},
        )
    return user


def _mark_email_verified(user: User, email: str) -> None:
    try:
        from allauth.account.models import EmailAddress
    except ImportError:  # allauth not installed: nothing to mark
        return
    from django.apps import apps

    if apps.is_installed("allauth.account"):
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )


def user_token(*, user: User) -> str:
    token, _ = Token.objects.get_or_create(user=user)
    return token.key


def roles_of(user: User) -> list[str]:
    roles = sorted(group.name for group in user.groups.all() if group.name in GROUP_ROLES)
    if user.is_staff:
        roles.append(Role.ADMIN)
    return roles


def user_role_grant(*, user: User, role: str) -> None:
    """Put ``user`` in the group of ``role`` (a no-op when already there)."""
    if role not in GROUP_ROLES:
        raise ValidationFailed("role", "invalid_role", f"{role!r} is not a group role.")
    roles_ensure_groups()
    user.groups.add(Group.objects.get(name=role))


def user_profile_update(
    *, user: User, display_name: str, languages: list[str], show_on_leaderboard: bool
) -> User:
    """Change what a person says about themselves; the audit log keeps the old values."""
    display_name = display_name.strip()
    if len(display_name) > 150:
        raise ValidationFailed("display_name", "too_long", "At most 150 characters.")
    cleaned: list[str] = []
    for code in languages:
        code = code.strip()
        if not code or len(code) > 32 or not code.replace("-", "").replace("_", "").isalnum():
            raise ValidationFailed(
                "languages", "invalid_language", f"{code!r} is not a language code."
            )
        if code not in cleaned:
            cleaned.append(code)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        before = {
            "display_name": locked.display_name,
            "languages": locked.languages,
            "show_on_leaderboard": locked.show_on_leaderboard,
        }
        after = {
            "display_name": display_name,
            "languages": cleaned,
            "show_on_leaderboard": show_on_leaderboard,
        }
        if before != after:
            locked.display_name = display_name
            locked.languages = cleaned
            locked.show_on_leaderboard = show_on_leaderboard
            locked.save(update_fields=["display_name", "languages", "show_on_leaderboard"])
            audit_record(
                action=AuditAction.USER_PROFILE_UPDATED,
                target_type="user",
                target_id=locked.pk,
                actor_id=user.pk,
                before=before,
                after=after,
            )
    user.refresh_from_db(fields=["display_name", "languages", "show_on_leaderboard"])
    return user
