"""``/api/v1/tokens/``: a person's own API tokens.

- ``POST`` ``{"name", "expires_in_days"?}`` → 201 ``{id, name, token, created_at,
  expires_at}``; the token is in this answer only.
- ``GET`` → my tokens that still work (never the token itself).
- ``DELETE /api/v1/tokens/{id}`` → 204; the token is refused from then on.
"""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.models import ApiToken, User
from backend.accounts.tokens import MAX_EXPIRY_DAYS, token_create, token_revoke, tokens_of
from backend.common.fields import StrictCharField, StrictIntegerField


class TokenCreateInput(serializers.Serializer):
    name = StrictCharField(max_length=100)
    expires_in_days = StrictIntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_EXPIRY_DAYS
    )


class TokenOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="the token's first characters")
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)


class TokenCreatedOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    token = serializers.CharField(help_text="shown only in this answer; store it now")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)


def render_token(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.pk,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
        "expires_at": token.expires_at,
    }


def _me(request: Request) -> User:
    return cast(User, request.user)  # IsAuthenticated let only a signed-in person through


class TokenListCreateView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=TokenOutput(many=True), summary="My API tokens")
    def get(self, request: Request) -> Response:
        return Response([render_token(token) for token in tokens_of(_me(request))])

    @extend_schema(
        request=TokenCreateInput, responses={201: TokenCreatedOutput}, summary="Make an API token"
    )
    def post(self, request: Request) -> Response:
        data = TokenCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        token, secret = token_create(
            user=_me(request),
            name=data.validated_data["name"],
            expires_in_days=data.validated_data.get("expires_in_days"),
        )
        body = {
            "id": token.pk,
            "name": token.name,
            "token": secret,
            "created_at": token.created_at,
            "expires_at": token.expires_at,
        }
        return Response(body, status=201)


class TokenDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None}, summary="Revoke an API token")
    def delete(self, request: Request, token_id: int) -> Response:
        token_revoke(user=_me(request), token_id=token_id)
        return Response(status=204)
