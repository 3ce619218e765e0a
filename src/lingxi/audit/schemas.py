"""Response and filter models of the audit log API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator


class AuditRead(BaseModel):
    id: int
    at: datetime
    actor_type: str
    actor_id: str
    actor_name: str
    action: str
    subject_type: str
    subject_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None
    ip: str | None


class AuditPage(BaseModel):
    items: list[AuditRead]
    next_before_id: int | None = Field(
        description="Pass as before_id to get the next (older) page; null when this is the last page."
    )


class AuditFilter(BaseModel):
    """Query filters shared by the list and the CSV export. Times need a timezone (…Z or +08:00)."""

    model_config = ConfigDict(extra="forbid")

    actor_type: Literal["staff", "customer", "visitor", "system"] | None = None
    actor_id: str | None = Field(default=None, max_length=64)
    action: str | None = Field(default=None, max_length=60)
    subject_type: str | None = Field(default=None, max_length=40)
    subject_id: str | None = Field(default=None, max_length=64)
    since: AwareDatetime | None = Field(default=None, description="Inclusive, e.g. 2026-11-29T00:00:00+08:00")
    until: AwareDatetime | None = Field(default=None, description="Exclusive")
    before_id: int | None = Field(default=None, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _empty_is_absent(cls, data: Any) -> Any:
        """Forms send `?action=&since=` for unused filters: an empty value means no filter."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v not in ("", None)}
        return data

    def as_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for lingxi.audit.service.list_audit (the filters and the limit)."""
        return self.model_dump()

    def as_audit(self) -> dict[str, Any]:
        """The filters used, for the audit row of an export."""
        return {
            k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.model_dump().items() if v
        }


EXPORT_MAX_ROWS = 50_000


class AuditQuery(AuditFilter):
    limit: int = Field(default=50, ge=1, le=500)


class AuditExportQuery(AuditFilter):
    limit: int = Field(
        default=10_000, ge=1, le=EXPORT_MAX_ROWS, description="At most this many rows (newest first)."
    )
