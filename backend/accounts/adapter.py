"""django-allauth hooks: every account made by signing up is a volunteer."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter

from backend.accounts.models import Role
from backend.accounts.services import user_role_grant


class ArborAccountAdapter(DefaultAccountAdapter):
    def save_user(self, request: Any, user: Any, form: Any, commit: bool = True) -> Any:
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            user_role_grant(user=user, role=Role.VOLUNTEER)
        return user


class ArborSocialAccountAdapter(DefaultSocialAccountAdapter):
    def save_user(self, request: Any, sociallogin: Any, form: Any = None) -> Any:
        user = super().save_user(request, sociallogin, form=form)
        user_role_grant(user=user, role=Role.VOLUNTEER)
        return user
