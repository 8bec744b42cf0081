"""The one error type business code raises.

Every refusal carries a stable machine-readable ``code`` that clients may switch on,
a human ``detail`` and the HTTP status the API answers with. Field-level problems go
in ``fields`` as ``{field: [{"code", "detail"}]}``.
"""

from __future__ import annotations

from typing import Any


class ArborError(Exception):
    status_code = 400

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        status_code: int | None = None,
        fields: dict[str, list[dict[str, str]]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        if status_code is not None:
            self.status_code = status_code
        self.fields = fields or {}
        self.extra = extra or {}

    def details(self) -> list[str]:
        """Every field problem's detail, or the error's own when none: what a page shows."""
        found = [problem["detail"] for problems in self.fields.values() for problem in problems]
        return found or [self.detail]

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "detail": self.detail}
        if self.fields:
            body["fields"] = self.fields
        body.update(self.extra)
        return body


class ValidationFailed(ArborError):
    """Bad input: 400 with field errors."""

    def __init__(self, field: str, code: str, detail: str) -> None:
        super().__init__(
            code, detail, status_code=400, fields={field: [{"code": code, "detail": detail}]}
        )


class NotFound(ArborError):
    def __init__(self, code: str = "not_found", detail: str = "Not found.") -> None:
        super().__init__(code, detail, status_code=404)


class Conflict(ArborError):
    def __init__(self, code: str, detail: str, **extra: Any) -> None:
        super().__init__(code, detail, status_code=409, extra=extra)


class Forbidden(ArborError):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(code, detail, status_code=403)


class RateLimited(ArborError):
    def __init__(self, code: str, detail: str, retry_after_seconds: int) -> None:
        super().__init__(code, detail, status_code=429, extra={"retry_after": retry_after_seconds})
