"""Who a log-in attempt is for, as django-axes counts failures.

Every log-in form (allauth's ``/accounts/login/``, the admin's ``/admin/login/``) goes
through ``django.contrib.auth.authenticate``, where axes counts failures and refuses a
locked-out person, so one lock-out holds on every form. The forms name the person
differently (allauth's ``login`` field holds a username or an email address, the admin
form a ``username``), so failures are counted against the account's username whatever
was typed; otherwise ``admin`` and ``ADMIN`` or the admin's email address would each
get their own allowance of guesses.
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.db.models import Q

from backend.accounts.models import User


def login_username(request: Any, credentials: dict[str, Any] | None) -> str:
    typed = ""
    if credentials:
        typed = str(credentials.get("username") or credentials.get("email") or "")
    if not typed and request is not None and getattr(request, "method", "") == "POST":
        typed = str(request.POST.get("login") or request.POST.get("username") or "")
    typed = typed.strip()
    if not typed:
        return ""
    username = (
        User.objects.filter(Q(username__iexact=typed) | Q(email__iexact=typed))
        .order_by("pk")
        .values_list("username", flat=True)
        .first()
    )
    return username or typed.lower()


class LoginLockoutBackend(AxesStandaloneBackend):
    """django-axes' lock-out check, for authentications that come with a request.

    Every log-in form passes the request. A call without one (a script, a management
    command, the test client's ``login``) has no client address to count against, so
    it is left to the other backends instead of being refused outright.
    """

    def authenticate(  # type: ignore[override]
        self,
        request: Any,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
