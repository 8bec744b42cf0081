from __future__ import annotations

from typing import Any

from backend.audit.models import AuditAction, AuditEvent


def audit_record(
    *,
    action: AuditAction,
    target_type: str,
    target_id: object,
    actor_id: int | None = None,
    project_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    is_automatic: bool = False,
) -> AuditEvent:
    """Write one audit event. Call it inside the transaction of the change it records."""
    return AuditEvent.objects.create(
        action=AuditAction(action),
        target_type=target_type,
        target_id=str(target_id),
        actor_id=actor_id,
        project_id=project_id,
        before=before or {},
        after=after or {},
        reason=reason,
        is_automatic=is_automatic,
    )
