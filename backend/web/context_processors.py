"""What every page's layout needs: the roles for the menu, the websocket path and the
words the scripts show (translated here, so the JavaScript has no catalogue)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _

from backend.accounts.services import roles_of


def _client_strings() -> dict[str, str]:
    return {
        "accepted": _("Your message #{message} was accepted."),
        "rejected": _("Your message #{message} was not accepted by the reviewers."),
        "ranked": _("Your reply #{message} was ranked #{rank} among its siblings."),
        "expired": _("Assignment #{assignment} expired: its place went back to the pool."),
        "cancelled": _("Assignment #{assignment} was cancelled: the work is no longer needed."),
        "view": _("View"),
        "server_error": _(
            "The server could not take this right now (error {status}). "
            "Nothing you typed is lost: try again."
        ),
        "network_error": _("No connection to the server. Nothing you typed is lost: try again."),
        "moved": _("Moved to position {position} of {count}."),
        "characters": _("{count} of {limit} characters"),
        "too_long": _("{over} characters too many"),
        "time_left": _("{minutes} min left"),
        "expired_short": _("expired"),
        "connected": _("Live updates on"),
        "disconnected": _("Live updates off, reconnecting…"),
    }


def _demo_login() -> dict[str, str] | None:
    """The demo volunteer's log-in when ``seed_demo`` made it and DEBUG is on, so that
    someone trying ``make run`` can start at once (the passwords are public anyway)."""
    from backend.accounts.models import User
    from backend.web.demo import DEMO_PASSWORD_SUFFIX

    if not settings.DEBUG or not User.objects.filter(username="volunteer").exists():
        return None
    return {"username": "volunteer", "password": f"volunteer{DEMO_PASSWORD_SUFFIX}"}


def site(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    console_email = settings.EMAIL_BACKEND.endswith("console.EmailBackend")
    if not user.is_authenticated:
        return {
            "arbor_roles": [],
            "arbor_ws_path": None,
            "arbor_console_email": console_email,
            # Only read by the log-in page; only in development (DEBUG) with the demo.
            "arbor_demo_login": SimpleLazyObject(_demo_login),
        }
    return {
        "arbor_console_email": console_email,
        # Lazy: pages that never show the menu's role links never query the groups.
        "arbor_roles": SimpleLazyObject(lambda: roles_of(user)),  # type: ignore[arg-type]
        "arbor_ws_path": "/ws/events/",
        "arbor_strings": _client_strings(),
    }
