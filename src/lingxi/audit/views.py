"""HTTP routes of the audit domain: search the log and export it as CSV (Perm.AUDIT_READ)."""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from lingxi.audit import service
from lingxi.audit.models import AuditLog
from lingxi.audit.schemas import AuditExportQuery, AuditFilter, AuditPage, AuditQuery, AuditRead
from lingxi.auth.permissions import Perm
from lingxi.auth.service import StaffUser, request_actor, require
from lingxi.core.deps import SessionDep
from lingxi.core.errors import ValidationFailed
from lingxi.core.timeutil import utcnow

router = APIRouter(tags=["audit"])

AuditReader = Annotated[StaffUser, Depends(require(Perm.AUDIT_READ))]
CSV_COLUMNS = (
    "id",
    "at",
    "actor_type",
    "actor_id",
    "actor_name",
    "action",
    "subject_type",
    "subject_id",
    "before",
    "after",
    "reason",
    "ip",
)


def _check_window(filters: AuditFilter) -> None:
    if filters.since and filters.until and filters.since >= filters.until:
        raise ValidationFailed(
            "'since' must be earlier than 'until'.",
            details=[
                {"field": "since", "problem": "not before until"},
                {"field": "until", "problem": "not after since"},
            ],
        )


def _read(row: AuditLog) -> AuditRead:
    return AuditRead(
        id=row.id,
        at=row.at,
        actor_type=row.actor_type,
        actor_id=row.actor_id,
        actor_name=row.actor_name,
        action=row.action,
        subject_type=row.subject_type,
        subject_id=row.subject_id,
        before=row.before,
        after=row.after,
        reason=row.reason,
        ip=row.ip,
    )


@router.get("/api/audit", response_model=AuditPage)
async def search_audit(
    reader: AuditReader,
    session: SessionDep,
    filters: Annotated[AuditQuery, Query()],
) -> AuditPage:
    """Newest first. Page backwards with `before_id=<next_before_id>`."""
    _check_window(filters)
    rows = await service.list_audit(session=session, **filters.as_kwargs())
    next_before_id = rows[-1].id if len(rows) == filters.limit else None
    return AuditPage(items=[_read(r) for r in rows], next_before_id=next_before_id)


def _cell(value: Any) -> str:
    """One CSV cell; a leading = + - @ would run as a formula in a spreadsheet, so it is quoted away."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    elif hasattr(value, "isoformat"):
        text = value.isoformat()
    else:
        text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text


@router.get(
    "/api/audit/export.csv",
    response_class=Response,
    response_model=None,
    responses={200: {"content": {"text/csv": {}}, "description": "UTF-8 CSV (with BOM, opens in Excel)"}},
)
async def export_audit(
    reader: AuditReader,
    session: SessionDep,
    request: Request,
    filters: Annotated[AuditExportQuery, Query()],
) -> Response:
    """The same filters as the search, as a CSV file (newest first). The export itself is audited.

    When more rows match than `limit`, the header `X-Next-Before-Id` tells where the next file starts.
    """
    _check_window(filters)
    rows = await service.list_audit(session=session, **filters.as_kwargs())
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([_cell(getattr(row, column)) for column in CSV_COLUMNS])
    service.do_record(
        session=session,
        actor=request_actor(request),
        action="audit.export",
        subject_type="audit_log",
        subject_id="export",
        after={"filters": filters.as_audit(), "rows": len(rows)},
    )
    headers = {
        "Content-Disposition": f'attachment; filename="lingxi-audit-{utcnow():%Y%m%d-%H%M%S}.csv"',
        "Cache-Control": "no-store",
    }
    if len(rows) == filters.limit:
        headers["X-Next-Before-Id"] = str(rows[-1].id)
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)
