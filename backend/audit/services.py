from __future__ import annotations

from typing import Any

from backend.audit.models import AuditEvent


def audit_record(
    *,
    action: str,
    target_type: str,
    target_id: object,
    actor_id: int | None = None,
    project_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditEvent:
    """Write one audit event. Call it inside the transaction of the change it records."""
    return AuditEvent.objects.create(
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        actor_id=actor_id,
        project_id=project_id,
        before=before or {},
        after=after or {},
        reason=reason,
    )
