"""Who may open which page. Volunteers get the task flow, the leaderboard, trees and
their profile; role pages (moderation, exports) check their role and answer 403."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _

from backend.accounts.services import roles_of

View = Callable[..., HttpResponseBase]


def volunteer_page(view: View) -> View:
    """Signed-in people only; a banned person may read but not change anything."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method not in ("GET", "HEAD", "OPTIONS") and getattr(
            request.user, "is_banned", False
        ):
            raise PermissionDenied(_("Your account is banned."))
        return view(request, *args, **kwargs)

    return login_required(wrapped)


def role_page(*roles: str) -> Callable[[View], View]:
    """Signed-in people with one of ``roles`` (admins have all); others get 403."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            held = set(roles_of(request.user))  # type: ignore[arg-type]
            if "admin" not in held and not set(roles) & held:
                raise PermissionDenied(_("This page is for other roles."))
            return view(request, *args, **kwargs)

        return volunteer_page(wrapped)

    return decorate
