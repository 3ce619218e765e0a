"""HTTP routes of the knowledge base: entries and their review workflow, import/export, search.

Reading (list, detail, metadata, search) needs `knowledge.read` (agents, supervisors, knowledge admins,
admins); writing, reviewing, importing and exporting need `knowledge.edit` (knowledge admins).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from lingxi.audit.service import do_record
from lingxi.auth.models import StaffUser
from lingxi.auth.permissions import Perm
from lingxi.auth.service import request_actor, require
from lingxi.core.actor import Actor
from lingxi.core.deps import SessionDep
from lingxi.core.errors import TooLarge, ValidationFailed
from lingxi.core.timeutil import utcnow
from lingxi.knowledge import io as kb_io
from lingxi.knowledge import service
from lingxi.knowledge.intents import load_intents
from lingxi.knowledge.models import CHANNELS, LANGUAGES, STATUSES, KnowledgeEntry, KnowledgeVersion
from lingxi.knowledge.schemas import (
    Approval,
    Channel,
    DraftSave,
    EntryCreate,
    EntryDetail,
    EntryPage,
    EntrySummary,
    ExportScope,
    HitRead,
    ImportResult,
    IntentOption,
    KnowledgeMeta,
    Language,
    Product,
    Rejection,
    SearchRead,
    Status,
    Transition,
    VersionRead,
    Withdrawal,
)
from lingxi.settings import get_settings

router = APIRouter(prefix="/api/knowledge", tags=["knowledge"])

Reader = Annotated[StaffUser, Depends(require(Perm.KNOWLEDGE_READ))]
Editor = Annotated[StaffUser, Depends(require(Perm.KNOWLEDGE_EDIT))]
IMPORT_PATH = "/api/knowledge/import"


# --------------------------------------------------------------------------------------------- shaping


def version_read(version: KnowledgeVersion) -> VersionRead:
    return VersionRead(
        number=version.number,
        status=version.status,
        language=version.language,
        category=version.category,
        intent=version.intent,
        standard_question=version.standard_question,
        similar_questions=list(version.similar_questions),
        answer_html=version.answer_html,
        answer_text=version.answer_text,
        channels=list(version.channels),
        valid_from=version.valid_from,
        valid_to=version.valid_to,
        products=[Product.model_validate(p) for p in version.products],
        author_name=version.author_name,
        created_at=version.created_at,
        updated_at=version.updated_at,
        submitted_at=version.submitted_at,
        submitted_by_name=version.submitted_by_name,
        reviewed_at=version.reviewed_at,
        reviewer_name=version.reviewer_name,
        review_outcome=version.review_outcome,
        review_comment=version.review_comment,
        published_at=version.published_at,
        archived_at=version.archived_at,
        archive_reason=version.archive_reason,
        archive_note=version.archive_note,
    )


def entry_summary(entry: KnowledgeEntry, head: KnowledgeVersion, actor: Actor) -> EntrySummary:
    return EntrySummary(
        id=entry.id,
        key=entry.key,
        status=entry.status,
        head_version=entry.head_number,
        live_version=entry.live_number,
        language=entry.language,
        category=entry.category,
        intent=entry.intent,
        standard_question=entry.standard_question,
        revision=entry.revision,
        updated_at=entry.updated_at,
        author_name=head.author_name,
        can_review=service.may_review(head, actor),
    )


async def entry_detail(
    session: SessionDep, entry: KnowledgeEntry, actor: Actor, response: Response | None = None
) -> EntryDetail:
    versions = await service.list_versions(session=session, entry_id=entry.id)
    head = next(v for v in versions if v.number == entry.head_number)
    if response is not None:
        response.headers["ETag"] = f'"{entry.revision}"'
    return EntryDetail(
        **entry_summary(entry, head, actor).model_dump(), versions=[version_read(v) for v in versions]
    )


# --------------------------------------------------------------------------------------------- reading


@router.get("/meta", response_model=KnowledgeMeta, summary="Languages, channels, intents, categories in use")
async def meta(session: SessionDep, user: Reader) -> KnowledgeMeta:
    settings = get_settings()
    revision, _ = await service.get_state(session=session)
    return KnowledgeMeta(
        languages=list(LANGUAGES),
        channels=list(CHANNELS),
        statuses=list(STATUSES),
        categories=await service.list_categories(session=session),
        intents=[IntentOption(id=i.id, zh=i.zh, en=i.en, kind=i.kind) for i in load_intents().values()],
        revision=revision,
        import_max_rows=settings.knowledge_import_max_rows,
        import_max_bytes=settings.knowledge_import_max_bytes,
    )


@router.get("/entries", response_model=EntryPage, summary="List and filter entries")
async def list_entries(
    request: Request,
    session: SessionDep,
    user: Reader,
    status: Annotated[
        Status | Literal[""] | None, Query(description="published = has a live version")
    ] = None,
    category: Annotated[str | None, Query(max_length=60)] = None,
    language: Annotated[Language | Literal[""] | None, Query()] = None,
    intent: Annotated[str | None, Query(max_length=60)] = None,
    q: Annotated[str | None, Query(max_length=100, description="text in key, question or answer")] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> EntryPage:
    rows, total = await service.list_entries(
        session=session,
        status=status or None,
        category=category or None,
        language=language or None,
        intent=intent or None,
        text=q,
        page=page,
        page_size=page_size,
    )
    heads = await service.list_heads(session=session, entries=rows)
    actor = request_actor(request)
    return EntryPage(
        items=[entry_summary(e, heads[e.id], actor) for e in rows],
        total=total,
        page=page,
        page_size=page_size,
    )


@router.get("/entries/{entry_id}", response_model=EntryDetail, summary="An entry with its version history")
async def get_entry(
    entry_id: int, request: Request, response: Response, session: SessionDep, user: Reader
) -> EntryDetail:
    entry = await service.access_entry(session=session, entry_id=entry_id)
    return await entry_detail(session, entry, request_actor(request), response)


@router.get(
    "/search", response_model=SearchRead, summary="Ranked answers for a question (agent assist, test)"
)
async def search(
    session: SessionDep,
    user: Reader,
    q: Annotated[str, Query(min_length=1, max_length=500)],
    language: Annotated[Language, Query()] = "zh-CN",
    channel: Annotated[Channel, Query()] = "webchat",
    limit: Annotated[int, Query(ge=1, le=10)] = 3,
) -> SearchRead:
    # As the bot does: the products the question names are recognised first, and their entries preferred.
    products = await service.find_products(session=session, text=q)
    result = await service.search(
        session=session, query=q, language=language, channel=channel, limit=limit, products=products
    )
    return SearchRead(
        decision=result.decision,
        products=products,
        prompt=service.format_suggestions(result),
        hits=[
            HitRead(
                entry_id=h.entry_id,
                key=h.key,
                version=h.version,
                category=h.category,
                intent=h.intent,
                standard_question=h.standard_question,
                matched_question=h.matched_question,
                answer_html=h.answer_html,
                answer_text=h.answer_text,
                score=h.score,
                lexical=h.lexical,
                semantic=h.semantic,
                intent_prior=h.intent_prior,
                product_match=h.product_match,
            )
            for h in result.hits
        ],
        query=result.query,
        language=result.language,
        channel=result.channel,
        revision=result.revision,
    )


# --------------------------------------------------------------------------------------------- writing


@router.post("/entries", response_model=EntryDetail, status_code=201, summary="Create an entry (a draft)")
async def create_entry(
    body: EntryCreate, request: Request, response: Response, session: SessionDep, user: Editor
) -> EntryDetail:
    actor = request_actor(request)
    entry = await service.do_create_entry(session=session, content=body, actor=actor, key=body.key)
    return await entry_detail(session, entry, actor, response)


@router.put("/entries/{entry_id}/draft", response_model=EntryDetail, summary="Edit the draft (409 if stale)")
async def save_draft(
    entry_id: int, body: DraftSave, request: Request, response: Response, session: SessionDep, user: Editor
) -> EntryDetail:
    actor = request_actor(request)
    entry = await service.access_entry(session=session, entry_id=entry_id)
    await service.do_save_draft(
        session=session, entry=entry, content=body, expected_revision=body.revision, actor=actor
    )
    return await entry_detail(session, entry, actor, response)


@router.post("/entries/{entry_id}/submit", response_model=EntryDetail, summary="Send the draft to review")
async def submit(
    entry_id: int, body: Transition, request: Request, response: Response, session: SessionDep, user: Editor
) -> EntryDetail:
    actor = request_actor(request)
    entry = await service.access_entry(session=session, entry_id=entry_id)
    await service.do_submit(session=session, entry=entry, expected_revision=body.revision, actor=actor)
    return await entry_detail(session, entry, actor, response)


@router.post(
    "/entries/{entry_id}/approve",
    response_model=EntryDetail,
    summary="Publish the version in review (four-eyes)",
)
async def approve(
    entry_id: int, body: Approval, request: Request, response: Response, session: SessionDep, user: Editor
) -> EntryDetail:
    actor = request_actor(request)
    entry = await service.access_entry(session=session, entry_id=entry_id)
    await service.do_approve(
        session=session, entry=entry, expected_revision=body.revision, actor=actor, comment=body.comment
    )
    return await entry_detail(session, entry, actor, response)


@router.post(
    "/entries/{entry_id}/reject", response_model=EntryDetail, summary="Send back to draft with a comment"
)
async def reject(
    entry_id: int, body: Rejection, request: Request, response: Response, session: SessionDep, user: Editor
) -> EntryDetail:
    actor = request_actor(request)
    entry = await service.access_entry(session=session, entry_id=entry_id)
    await service.do_reject(
        session=session, entry=entry, expected_revision=body.revision, actor=actor, comment=body.comment
    )
    return await entry_detail(session, entry, actor, response)


@router.post(
    "/entries/{entry_id}/withdraw", response_model=EntryDetail, summary="Take the published answer offline"
)
async def withdraw(
    entry_id: int, body: Withdrawal, request: Request, response: Response, session: SessionDep, user: Editor
) -> EntryDetail:
    actor = request_actor(request)
    entry = await service.access_entry(session=session, entry_id=entry_id)
    await service.do_withdraw(
        session=session, entry=entry, expected_revision=body.revision, actor=actor, reason=body.reason
    )
    return await entry_detail(session, entry, actor, response)


# --------------------------------------------------------------------------------------------- files


async def _limited(stream: AsyncIterator[bytes], limit: int) -> AsyncGenerator[bytes, None]:
    """The request body, refused with 413 as soon as it passes `limit` (chunked uploads have no length)."""
    received = 0
    async for chunk in stream:
        received += len(chunk)
        if received > limit:
            raise TooLarge(f"The upload is larger than {limit // 1024} KB.", code="file_too_large")
        yield chunk


async def _uploaded_file(request: Request, limit: int) -> tuple[str | None, bytes]:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise ValidationFailed(
            "Send the file as multipart/form-data in a field named 'file'.",
            code="file_required",
            details=[{"field": "file", "problem": "missing"}],
        )
    # Form overhead (boundaries, headers) on top of the file's own limit.
    parser = MultiPartParser(
        request.headers, _limited(request.stream(), limit + 64 * 1024), max_files=1, max_fields=4
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise ValidationFailed(
            f"The upload is not valid multipart data: {exc.message}", code="bad_upload"
        ) from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ValidationFailed(
            "Send the file in a form field named 'file'.",
            code="file_required",
            details=[{"field": "file", "problem": "missing"}],
        )
    try:
        data = await upload.read(limit + 1)
    finally:
        await upload.close()
    return upload.filename, data


@router.post(
    "/import",
    response_model=ImportResult,
    summary="Import .xlsx or .csv (all or nothing; rows become drafts)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                }
            },
        }
    },
    responses={
        413: {"description": "File too large"},
        415: {"description": "Not an .xlsx or .csv file"},
        422: {"description": "Problems per row and column in error.details; nothing imported"},
    },
)
async def import_entries(
    request: Request,
    session: SessionDep,
    user: Editor,
    dry_run: Annotated[bool, Query(description="check only, write nothing")] = False,
) -> ImportResult:
    settings = get_settings()
    filename, data = await _uploaded_file(request, settings.knowledge_import_max_bytes)
    actor = request_actor(request)
    outcome = await kb_io.do_import(
        session=session,
        filename=filename,
        data=data,
        actor=actor,
        max_rows=settings.knowledge_import_max_rows,
        max_bytes=settings.knowledge_import_max_bytes,
        dry_run=dry_run,
    )
    if not dry_run:
        do_record(
            session=session,
            actor=actor,
            action="knowledge.import",
            subject_type="knowledge_base",
            subject_id="import",
            after={
                "file": (filename or "")[:100],
                "rows": outcome.rows,
                "created": outcome.created,
                "updated": outcome.updated,
            },
        )
    return ImportResult(
        dry_run=outcome.dry_run,
        rows=outcome.rows,
        created=outcome.created,
        updated=outcome.updated,
        entries=outcome.keys,
    )


@router.get(
    "/export",
    response_class=Response,
    summary="Export entries as .xlsx or .csv (imports again unchanged)",
    responses={200: {"content": {kb_io.XLSX_MEDIA_TYPE: {}, "text/csv": {}}}},
)
async def export_entries(
    request: Request,
    session: SessionDep,
    user: Editor,
    format: Annotated[Literal["xlsx", "csv"], Query()] = "xlsx",
    scope: Annotated[
        ExportScope, Query(description="published: live versions; all: newest versions")
    ] = "published",
) -> Response:
    rows: Sequence[Sequence[object]] = await kb_io.export_rows(session=session, scope=scope)
    body = kb_io.to_xlsx(rows) if format == "xlsx" else kb_io.to_csv(rows)
    do_record(
        session=session,
        actor=request_actor(request),
        action="knowledge.export",
        subject_type="knowledge_base",
        subject_id="export",
        after={"format": format, "scope": scope, "entries": len(rows) - 1},
    )
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return Response(
        content=body,
        media_type=kb_io.XLSX_MEDIA_TYPE if format == "xlsx" else kb_io.CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="lingxi-faq-{scope}-{stamp}.{format}"'},
    )
