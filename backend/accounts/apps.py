from django.apps import AppConfig
from django.db.models.signals import m2m_changed, post_delete, post_save


class AccountsConfig(AppConfig):
    name = "backend.accounts"
    label = "accounts"

    def ready(self) -> None:
        from rest_framework.authtoken.models import Token

        from backend.accounts.authentication import token_cache_clear
        from backend.accounts.models import User

        # A revoked token, a banned user or a changed role is seen at once here.
        for signal, sender, uid in (
            (post_save, Token, "token-cache-token-save"),
            (post_delete, Token, "token-cache-token-delete"),
            (post_save, User, "token-cache-user-save"),
            (post_delete, User, "token-cache-user-delete"),
            (m2m_changed, User.groups.through, "token-cache-user-groups"),
        ):
            signal.connect(token_cache_clear, sender=sender, dispatch_uid=uid)
