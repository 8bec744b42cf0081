"""Export ids: pass-through, or a keyed hash shaped like a UUID.

With a secret every id becomes HMAC-SHA256(secret, "<kind>:<id>"), cut to 128 bits and
formatted as an RFC 4122 version-4 UUID, so loaders that parse Open-Assistant ids as
UUIDs accept it. The same secret and id always give the same result (exports with one
secret can be joined); without the secret the mapping cannot be reversed or linked to
another export's ids. The kind (``tree``, ``message``, ``user``) is part of the hashed
text so that, say, user 7 and message 7 never share an exported id.
"""

from __future__ import annotations

import hashlib
import secrets

KINDS = ("tree", "message", "user")
BLOCK_SIZE = 64  # SHA-256's block size, HMAC's key length


def new_secret() -> str:
    """A fresh random per-export secret (256 bits)."""
    return secrets.token_hex(32)


def uuid_text(digest: bytes) -> str:
    """The first 16 bytes of ``digest`` as a version-4, RFC 4122 variant UUID string."""
    text = digest[:16].hex()
    # Version nibble (hex digit 12) set to 4; the variant's two top bits (digit 16) to 10.
    variant = "89ab"[int(text[16], 16) & 3]
    return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-{variant}{text[17:20]}-{text[20:32]}"


class IdMapper:
    """Maps source ids to exported ids; ``secret=None`` keeps them as they are.

    HMAC-SHA256 (RFC 2104) with the key's inner and outer pads hashed once: each id
    then costs two SHA-256 state copies instead of a full HMAC set-up, the difference
    between ~1.5 and ~5 µs an id, which matters a million times over.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, secret: str | None) -> None:
        if secret is None:
            self._inner = self._outer = None
            return
        key = secret.encode()
        if len(key) > BLOCK_SIZE:
            key = hashlib.sha256(key).digest()
        key = key.ljust(BLOCK_SIZE, b"\0")
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in key))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in key))

    @property
    def is_anonymising(self) -> bool:
        return self._inner is not None

    def __call__(self, kind: str, source_id: str) -> str:
        if self._inner is None or self._outer is None:
            return source_id
        inner = self._inner.copy()
        inner.update(f"{kind}:{source_id}".encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return uuid_text(outer.digest())
