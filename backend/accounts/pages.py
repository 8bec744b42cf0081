"""The "My account" page: download my data, leaderboard visibility, delete my account.

Every form posts back here and is answered with a redirect (post/redirect/get); the
rules are the services' in ``backend.accounts.selfservice``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from backend.accounts.models import User
from backend.accounts.selfservice import (
    account_data_collect,
    account_delete,
    user_leaderboard_visibility_set,
)
from backend.common.errors import ArborError

DATA_FILE_NAME = "arbor-my-data.json"


def _delete_errors(error: ArborError) -> dict[str, str]:
    texts = {
        "required": _("Type your password to confirm."),
        "wrong_password": _("That is not your password."),
        "confirmation_mismatch": _("Type your username exactly to confirm."),
    }
    return {
        name: texts.get(problems[0]["code"], problems[0]["detail"])
        for name, problems in error.fields.items()
    } or {"general": error.detail}


@require_http_methods(["GET", "POST"])
@login_required
def my_account(request: HttpRequest) -> HttpResponse:
    # A banned person may still download their data, opt out and delete their account,
    # so this page is for any signed-in person (``volunteer_page`` refuses their posts).
    user: User = request.user  # type: ignore[assignment]
    context: dict[str, Any] = {"errors": {}, "has_password": user.has_usable_password()}
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "leaderboard":
            show = request.POST.get("show_on_leaderboard") == "yes"
            user_leaderboard_visibility_set(user=user, show=show)
            messages.success(
                request,
                _("You are shown on leaderboards.")
                if show
                else _("You are no longer shown on leaderboards."),
            )
            return redirect("myaccount:page")
        if action == "delete":
            try:
                account_delete(
                    user=user,
                    password=request.POST.get("password", ""),
                    confirm=request.POST.get("confirm", "").strip(),
                )
            except ArborError as error:
                context["errors"] = _delete_errors(error)
                status = 422
            else:
                logout(request)
                messages.success(request, _("Your account is deleted. Goodbye, and thank you."))
                return redirect("home")
        else:
            status = 400
    return render(request, "accounts/my_account.html", context, status=status)


@require_GET
@login_required
def my_data(request: HttpRequest) -> HttpResponse:
    data = account_data_collect(user=request.user)  # type: ignore[arg-type]
    response = JsonResponse(data, json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = f'attachment; filename="{DATA_FILE_NAME}"'
    return response
