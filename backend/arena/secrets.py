"""API keys at rest: Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from
``ARBOR_SECRETS_KEY`` (falling back to Django's ``SECRET_KEY``). Rotating that key
makes stored API keys unreadable; they must then be entered again."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    material = (getattr(settings, "ARBOR_SECRETS_KEY", "") or settings.SECRET_KEY).encode()
    key = hashlib.sha256(b"arbor model api keys\0" + material).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def secret_encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode() if plain else ""


def secret_decrypt(token: str) -> str:
    """The plain key, or "" when there is none or it was encrypted under another key."""
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return ""
