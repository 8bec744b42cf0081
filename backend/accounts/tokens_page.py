"""``/me/tokens/``: make, see and revoke my API tokens. A new token is shown on the
answer to the form that made it, once; it is never stored in the clear."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from backend.accounts.page_permissions import volunteer_page
from backend.accounts.tokens import token_create, token_revoke, tokens_of
from backend.common.errors import ArborError


@require_http_methods(["GET", "POST"])
@volunteer_page
def tokens_page(request: HttpRequest) -> HttpResponse:
    new_token = None
    status = 200
    if request.method == "POST":
        try:
            if request.POST.get("action") == "revoke":
                token_revoke(user=request.user, token_id=int(request.POST.get("token", "0")))  # type: ignore[arg-type]
                messages.success(request, _("Token revoked: it no longer works."))
                return HttpResponseRedirect(reverse("my-tokens"))
            days = request.POST.get("expires_in_days", "").strip()
            _token, new_token = token_create(
                user=request.user,  # type: ignore[arg-type]
                name=request.POST.get("name", ""),
                expires_in_days=int(days) if days else None,
            )
            status = 201
        except ArborError as error:
            messages.error(request, " ".join(error.details()))
            status = 400
        except ValueError:
            messages.error(request, _("Enter a whole number of days."))
            status = 400
    return render(
        request,
        "accounts/tokens.html",
        {"tokens": tokens_of(request.user), "new_token": new_token},  # type: ignore[arg-type]
        status=status,
    )
