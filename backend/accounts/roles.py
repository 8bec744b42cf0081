"""Granting and revoking roles by admins, audited (docs/projects.md "Roles").

Moderator and researcher are groups; admin is Django's staff flag. An admin cannot
take away their own admin role (someone must be left to give it back).
"""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import transaction

from backend.accounts.authentication import token_cache_clear
from backend.accounts.models import GROUP_ROLES, Role, User
from backend.accounts.services import roles_ensure_groups, roles_of
from backend.audit.models import AuditAction
from backend.audit.services import audit_record
from backend.common.errors import ArborError, ValidationFailed

MANAGED_ROLES = (Role.MODERATOR, Role.RESEARCHER, Role.ADMIN)


def user_role_change(*, user: User, role: str, grant: bool, actor: User) -> list[str]:
    """Grant or revoke ``role``; returns the person's roles afterwards."""
    if role not in MANAGED_ROLES:
        raise ValidationFailed("role", "invalid_role", f"{role!r} cannot be granted here.")
    if not grant and role == Role.ADMIN and user.pk == actor.pk:
        raise ArborError(
            "cannot_revoke_own_admin",
            "Admins cannot take away their own admin role.",
            status_code=409,
        )
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        before = roles_of(user)
        if role == Role.ADMIN:
            user.is_staff = grant
            user.save(update_fields=["is_staff"])
        else:
            roles_ensure_groups()
            group = Group.objects.get(name=role)
            (user.groups.add if grant else user.groups.remove)(group)
        after = roles_of(user)
        if before != after:
            audit_record(
                action=AuditAction.USER_ROLE_GRANTED if grant else AuditAction.USER_ROLE_REVOKED,
                target_type="user",
                target_id=user.pk,
                actor_id=actor.pk,
                before={"roles": before},
                after={"roles": after},
            )
        transaction.on_commit(token_cache_clear)
    token_cache_clear()
    return after


__all__ = ["GROUP_ROLES", "MANAGED_ROLES", "user_role_change"]
