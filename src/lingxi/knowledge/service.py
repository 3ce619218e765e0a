"""The knowledge base: FAQ entries, their versions and the review workflow, and the search the bot calls.

Workflow of a version: draft → in_review → published → archived. `do_submit` sends the newest version to
review; `do_approve` publishes it (four-eyes: nobody who wrote into the version may approve it) and
archives the previously published version ("superseded"); `do_reject` sends it back to draft with the
reviewer's comment; `do_withdraw` takes the published version offline ("withdrawn"). Editing an entry whose
newest version is published or archived starts a new draft version; the published one stays live until the
new one is approved. Every mutation claims the entry's `revision` (optimistic concurrency: a stale value is
a 409), writes an audit row, and publishing or withdrawing bumps the knowledge revision in `kb_state` in
the same transaction.

Search: every process keeps one index per language in memory, tagged with the `kb_state` stamp it was built
from. `search` reads the stamp (one primary-key read) and rebuilds the language's index only when it moved,
so a publication on any process is seen by the next search on every process. The product catalogue (the
product names of the published entries, which the bot's entity extractor looks for) is cached the same way.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from lingxi.audit.service import do_record
from lingxi.core.actor import Actor
from lingxi.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from lingxi.core.events import emit
from lingxi.core.timeutil import utcnow
from lingxi.customers.service import bank_today
from lingxi.knowledge import retrieval
from lingxi.knowledge.models import KnowledgeEntry, KnowledgeState, KnowledgeVersion
from lingxi.knowledge.richtext import MAX_ANSWER_CHARS, plain_text, sanitize_answer
from lingxi.knowledge.schemas import EntryContent, product_key, products_text
from lingxi.nlu.entities import extract_entities

log = logging.getLogger("lingxi.knowledge")

ENTRY_PUBLISHED = "knowledge.entry_published"
ENTRY_WITHDRAWN = "knowledge.entry_withdrawn"
STATE_ID = 1
AUDIT_TEXT_CHARS = 500


# ---------------------------------------------------------------------------------------------
# The knowledge revision (kb_state).


async def get_state(*, session: AsyncSession) -> tuple[int, str]:
    """(revision, stamp) of the published knowledge; (0, "") before anything was ever published."""
    row = (
        await session.execute(
            select(KnowledgeState.revision, KnowledgeState.stamp).where(KnowledgeState.id == STATE_ID)
        )
    ).first()
    return (int(row[0]), str(row[1])) if row else (0, "")


async def do_bump_revision(*, session: AsyncSession) -> int:
    """Add one to the knowledge revision and draw a new stamp, in the caller's transaction (an upsert, so
    two first publications cannot race on the missing row). The row lock it takes also serialises
    concurrent publications on PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    now = utcnow()
    values = insert(KnowledgeState).values(
        id=STATE_ID, revision=1, stamp=secrets.token_hex(16), updated_at=now
    )
    upsert = values.on_conflict_do_update(
        index_elements=[KnowledgeState.id],
        set_={
            "revision": KnowledgeState.revision + 1,
            "stamp": values.excluded.stamp,
            "updated_at": values.excluded.updated_at,
        },
    ).returning(KnowledgeState.revision)
    return int((await session.execute(upsert)).scalar_one())


# ---------------------------------------------------------------------------------------------
# Reads.


async def get_entry(*, session: AsyncSession, entry_id: int) -> KnowledgeEntry | None:
    return await session.get(KnowledgeEntry, entry_id)


async def access_entry(*, session: AsyncSession, entry_id: int) -> KnowledgeEntry:
    entry = await get_entry(session=session, entry_id=entry_id)
    if entry is None:
        raise NotFound(f"No knowledge entry {entry_id}.", code="knowledge_entry_not_found")
    return entry


async def get_entry_by_key(*, session: AsyncSession, key: str) -> KnowledgeEntry | None:
    return await session.scalar(select(KnowledgeEntry).where(KnowledgeEntry.key == key))


async def list_versions(*, session: AsyncSession, entry_id: int) -> Sequence[KnowledgeVersion]:
    """Newest first."""
    stmt = (
        select(KnowledgeVersion)
        .where(KnowledgeVersion.entry_id == entry_id)
        .order_by(KnowledgeVersion.number.desc())
    )
    return (await session.scalars(stmt)).all()


async def get_version(*, session: AsyncSession, entry: KnowledgeEntry, number: int) -> KnowledgeVersion:
    version = await session.scalar(
        select(KnowledgeVersion).where(
            KnowledgeVersion.entry_id == entry.id, KnowledgeVersion.number == number
        )
    )
    if version is None:  # the entry row and its versions are written together: a broken invariant
        raise RuntimeError(f"knowledge entry {entry.id} has no version {number}")
    return version


async def get_head(*, session: AsyncSession, entry: KnowledgeEntry) -> KnowledgeVersion:
    return await get_version(session=session, entry=entry, number=entry.head_number)


async def list_heads(
    *, session: AsyncSession, entries: Sequence[KnowledgeEntry]
) -> dict[int, KnowledgeVersion]:
    """The newest version of each entry, by entry id (one query)."""
    if not entries:
        return {}
    pairs = [(e.id, e.head_number) for e in entries]
    stmt = select(KnowledgeVersion).where(
        or_(*(((KnowledgeVersion.entry_id == i) & (KnowledgeVersion.number == n)) for i, n in pairs))
    )
    return {v.entry_id: v for v in (await session.scalars(stmt)).all()}


async def list_entries(
    *,
    session: AsyncSession,
    status: str | None = None,
    category: str | None = None,
    language: str | None = None,
    intent: str | None = None,
    text: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> tuple[Sequence[KnowledgeEntry], int]:
    """Entries newest-changed first, and how many match. `status` filters on the newest version, except
    `published`: the entries that have a live version (maybe with a newer draft)."""
    stmt = select(KnowledgeEntry)
    if status == "published":
        stmt = stmt.where(KnowledgeEntry.live_number.is_not(None))
    elif status:
        stmt = stmt.where(KnowledgeEntry.status == status)
    if category:
        stmt = stmt.where(KnowledgeEntry.category == category)
    if language:
        stmt = stmt.where(KnowledgeEntry.language == language)
    if intent:
        stmt = stmt.where(KnowledgeEntry.intent == intent)
    if text and text.strip():
        needle = text.strip()
        matching_versions = select(KnowledgeVersion.entry_id).where(
            or_(
                KnowledgeVersion.standard_question.icontains(needle, autoescape=True),
                KnowledgeVersion.answer_text.icontains(needle, autoescape=True),
            )
        )
        stmt = stmt.where(
            or_(
                KnowledgeEntry.key.icontains(needle, autoescape=True),
                KnowledgeEntry.standard_question.icontains(needle, autoescape=True),
                KnowledgeEntry.id.in_(matching_versions),
            )
        )
    total = int(await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = (
        await session.scalars(
            stmt.order_by(KnowledgeEntry.updated_at.desc(), KnowledgeEntry.id.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
    ).all()
    return rows, total


async def list_categories(*, session: AsyncSession) -> list[str]:
    stmt = select(KnowledgeEntry.category).distinct().order_by(KnowledgeEntry.category)
    return [str(c) for c in (await session.scalars(stmt)).all()]


def staff_id(actor: Actor) -> int | None:
    return int(actor.id) if actor.type == "staff" and actor.id.isdigit() else None


def may_review(version: KnowledgeVersion, actor: Actor) -> bool:
    """Four-eyes: a staff reviewer who did not write into the version (a system actor always may)."""
    reviewer = staff_id(actor)
    return version.status == "in_review" and (reviewer is None or reviewer not in version.contributor_ids)


# ---------------------------------------------------------------------------------------------
# Content.


@dataclass(frozen=True, slots=True)
class CleanContent:
    """Validated content with the answer sanitised and its plain text derived."""

    standard_question: str
    similar_questions: list[str]
    answer_html: str
    answer_text: str
    category: str
    intent: str | None
    channels: list[str]
    valid_from: date | None
    valid_to: date | None
    language: str
    products: list[dict[str, Any]]


def answer_problem(answer_html: str) -> tuple[str, str] | None:
    """(code, problem) when a sanitised answer cannot be stored, else None."""
    if not answer_html:
        return "empty_answer", "empty after sanitising"
    if len(answer_html) > MAX_ANSWER_CHARS:
        return "answer_too_long", f"over {MAX_ANSWER_CHARS} characters"
    return None


def check_content(content: EntryContent) -> CleanContent:
    """Sanitise the answer; ValidationFailed (field `answer`) when nothing is left or it is too long."""
    answer_html = sanitize_answer(content.answer)
    problem = answer_problem(answer_html)
    if problem is not None:
        code, text = problem
        message = {
            "empty_answer": "The answer has no text once unsafe markup is removed.",
            "answer_too_long": f"The answer is longer than {MAX_ANSWER_CHARS} characters.",
        }[code]
        raise ValidationFailed(message, code=code, details=[{"field": "answer", "problem": text}])
    return CleanContent(
        standard_question=content.standard_question,
        similar_questions=list(content.similar_questions),
        answer_html=answer_html,
        answer_text=plain_text(answer_html),
        category=content.category,
        intent=content.intent,
        channels=list(content.channels),
        valid_from=content.valid_from,
        valid_to=content.valid_to,
        language=content.language,
        products=[p.model_dump() for p in content.products],
    )


CONTENT_FIELDS = (
    "standard_question",
    "similar_questions",
    "answer_html",
    "answer_text",
    "category",
    "intent",
    "channels",
    "valid_from",
    "valid_to",
    "language",
    "products",
)


def snapshot(version: KnowledgeVersion) -> dict[str, Any]:
    """What the audit log keeps of a version (the answer shortened)."""
    return {
        "version": version.number,
        "status": version.status,
        "language": version.language,
        "category": version.category,
        "intent": version.intent,
        "standard_question": version.standard_question,
        "similar_questions": list(version.similar_questions),
        "answer": version.answer_text[:AUDIT_TEXT_CHARS],
        "channels": list(version.channels),
        "valid_from": version.valid_from.isoformat() if version.valid_from else None,
        "valid_to": version.valid_to.isoformat() if version.valid_to else None,
        # The text form: a {"name": …} dict would be masked as a person's name by the audit log.
        "products": products_text(version.products, separator="; "),
    }


def _apply(version: KnowledgeVersion, content: CleanContent) -> None:
    for name in CONTENT_FIELDS:
        setattr(version, name, getattr(content, name))


def _sync_entry(entry: KnowledgeEntry, head: KnowledgeVersion) -> None:
    """The entry's copy of the newest version's list fields."""
    entry.status = head.status
    entry.head_number = head.number
    entry.language = head.language
    entry.category = head.category
    entry.intent = head.intent
    entry.standard_question = head.standard_question
    entry.updated_at = utcnow()


def _add_contributor(version: KnowledgeVersion, actor: Actor) -> None:
    writer = staff_id(actor)
    if writer is not None and writer not in version.contributor_ids:
        version.contributor_ids = [*version.contributor_ids, writer]


def new_key() -> str:
    return f"kb-{secrets.token_hex(5)}"


# ---------------------------------------------------------------------------------------------
# Mutations.


async def _claim(session: AsyncSession, entry: KnowledgeEntry, expected_revision: int) -> None:
    """Compare-and-set the entry's revision: 409 when someone changed the entry since the caller read it.

    One conditional UPDATE, so two concurrent requests with the same revision cannot both pass (on
    PostgreSQL the second waits for the first's row lock and then matches no row)."""
    new_revision = await session.scalar(
        update(KnowledgeEntry)
        .where(KnowledgeEntry.id == entry.id, KnowledgeEntry.revision == expected_revision)
        .values(revision=KnowledgeEntry.revision + 1)
        .returning(KnowledgeEntry.revision)
        .execution_options(synchronize_session=False)
    )
    if new_revision is None:
        await session.refresh(entry)
        raise Conflict(
            f"Entry {entry.key} was changed by someone else (revision {entry.revision}, you had "
            f"{expected_revision}); reload it and apply your change again.",
            code="stale_revision",
            details={"current_revision": entry.revision, "your_revision": expected_revision},
        )
    set_committed_value(entry, "revision", int(new_revision))


def _wrong_status(entry: KnowledgeEntry, action: str, needed: str) -> Conflict:
    return Conflict(
        f"Cannot {action} entry {entry.key}: its newest version is {entry.status}, not {needed}.",
        code="invalid_transition",
        details={"status": entry.status, "needed": needed, "action": action},
    )


async def do_create_entry(
    *, session: AsyncSession, content: EntryContent, actor: Actor, key: str | None = None
) -> KnowledgeEntry:
    """A new entry with version 1 as a draft. Conflict when `key` is taken."""
    clean = check_content(content)
    key = key or new_key()
    if await get_entry_by_key(session=session, key=key):
        raise Conflict(f"The key '{key}' is already used by another entry.", code="key_taken")
    entry = KnowledgeEntry(
        key=key,
        status="draft",
        head_number=1,
        language=clean.language,
        category=clean.category,
        intent=clean.intent,
        standard_question=clean.standard_question,
        created_by_id=staff_id(actor),
    )
    try:
        async with session.begin_nested():
            session.add(entry)
    except IntegrityError:  # the same key created by a concurrent request a moment ago
        raise Conflict(f"The key '{key}' is already used by another entry.", code="key_taken") from None
    version = KnowledgeVersion(
        entry_id=entry.id, number=1, status="draft", author_id=staff_id(actor), contributor_ids=[]
    )
    version.author_name = actor.name[:100]
    _apply(version, clean)
    _add_contributor(version, actor)
    session.add(version)
    await session.flush()
    do_record(
        session=session,
        actor=actor,
        action="knowledge.create",
        subject_type="knowledge_entry",
        subject_id=entry.id,
        after={"key": key, **snapshot(version)},
    )
    return entry


async def do_save_draft(
    *,
    session: AsyncSession,
    entry: KnowledgeEntry,
    content: EntryContent,
    expected_revision: int,
    actor: Actor,
) -> KnowledgeVersion:
    """Write the entry's draft: the newest version when it is a draft, else a new draft version (the
    published one stays live). Conflict while the newest version is in review."""
    clean = check_content(content)
    await _claim(session, entry, expected_revision)
    head = await get_head(session=session, entry=entry)
    if head.status == "in_review":
        raise Conflict(
            f"Entry {entry.key} is waiting for review; a reviewer must reject it before it can be edited.",
            code="in_review",
            details={"status": head.status},
        )
    before = snapshot(head)
    if head.status == "draft":
        version = head
        version.updated_at = utcnow()
    else:
        version = KnowledgeVersion(
            entry_id=entry.id,
            number=head.number + 1,
            status="draft",
            author_id=staff_id(actor),
            contributor_ids=[],
        )
        version.author_name = actor.name[:100]
        session.add(version)
    _apply(version, clean)
    _add_contributor(version, actor)
    _sync_entry(entry, version)
    await session.flush()
    after = snapshot(version)
    if version is head:  # the draft changed: old and new values of what changed
        changed = [k for k in after if after[k] != before[k]]
        before, after = {k: before[k] for k in changed}, {k: after[k] for k in changed}
    else:  # a new draft version next to the published or archived one
        before = {"version": before["version"], "status": before["status"]}
    do_record(
        session=session,
        actor=actor,
        action="knowledge.edit",
        subject_type="knowledge_entry",
        subject_id=entry.id,
        before=before,
        after=after,
    )
    return version


async def do_submit(
    *, session: AsyncSession, entry: KnowledgeEntry, expected_revision: int, actor: Actor
) -> KnowledgeVersion:
    """draft → in_review. The submitter counts as a writer of the version (cannot approve it)."""
    await _claim(session, entry, expected_revision)
    version = await get_head(session=session, entry=entry)
    if version.status != "draft":
        raise _wrong_status(entry, "submit", "draft")
    now = utcnow()
    version.status = "in_review"
    version.submitted_at = now
    version.submitted_by_name = actor.name[:100]
    version.updated_at = now
    _add_contributor(version, actor)
    _sync_entry(entry, version)
    await session.flush()
    do_record(
        session=session,
        actor=actor,
        action="knowledge.submit",
        subject_type="knowledge_entry",
        subject_id=entry.id,
        after={"version": version.number, "status": version.status},
    )
    return version


def _reviewable(entry: KnowledgeEntry, version: KnowledgeVersion, actor: Actor, action: str) -> None:
    if version.status != "in_review":
        raise _wrong_status(entry, action, "in_review")
    if not may_review(version, actor):
        raise Forbidden(
            f"You wrote or submitted version {version.number} of {entry.key}; another reviewer must {action}"
            " it (four-eyes principle).",
            code="four_eyes",
        )


async def do_approve(
    *,
    session: AsyncSession,
    entry: KnowledgeEntry,
    expected_revision: int,
    actor: Actor,
    comment: str | None = None,
) -> KnowledgeVersion:
    """in_review → published by a second person; the previously published version is archived and the
    knowledge revision bumped."""
    await _claim(session, entry, expected_revision)
    version = await get_head(session=session, entry=entry)
    _reviewable(entry, version, actor, "approve")
    if version.valid_to is not None and version.valid_to < bank_today():
        raise ValidationFailed(
            f"Version {version.number} expired on {version.valid_to.isoformat()}; change valid_to first.",
            code="expired",
            details=[{"field": "valid_to", "problem": "in the past"}],
        )
    now = utcnow()
    superseded = None
    if entry.live_number is not None and entry.live_number != version.number:
        superseded = await get_version(session=session, entry=entry, number=entry.live_number)
        superseded.status = "archived"
        superseded.archived_at = now
        superseded.archive_reason = "superseded"
        superseded.archive_note = f"superseded by version {version.number}"
        superseded.updated_at = now
    version.status = "published"
    version.published_at = now
    version.reviewed_at = now
    version.reviewer_id = staff_id(actor)
    version.reviewer_name = actor.name[:100]
    version.review_outcome = "approved"
    version.review_comment = comment
    version.updated_at = now
    entry.live_number = version.number
    _sync_entry(entry, version)
    revision = await do_bump_revision(session=session)
    await session.flush()
    do_record(
        session=session,
        actor=actor,
        action="knowledge.approve",
        subject_type="knowledge_entry",
        subject_id=entry.id,
        before={"live_version": superseded.number if superseded else None},
        after={"version": version.number, "status": "published", "knowledge_revision": revision},
        reason=comment,
    )
    emit(
        session,
        ENTRY_PUBLISHED,
        {"entry_id": entry.id, "key": entry.key, "version": version.number, "knowledge_revision": revision},
    )
    return version


async def do_reject(
    *, session: AsyncSession, entry: KnowledgeEntry, expected_revision: int, actor: Actor, comment: str
) -> KnowledgeVersion:
    """in_review → draft, with the reviewer's comment for the author."""
    await _claim(session, entry, expected_revision)
    version = await get_head(session=session, entry=entry)
    _reviewable(entry, version, actor, "reject")
    now = utcnow()
    version.status = "draft"
    version.reviewed_at = now
    version.reviewer_id = staff_id(actor)
    version.reviewer_name = actor.name[:100]
    version.review_outcome = "rejected"
    version.review_comment = comment
    version.updated_at = now
    _sync_entry(entry, version)
    await session.flush()
    do_record(
        session=session,
        actor=actor,
        action="knowledge.reject",
        subject_type="knowledge_entry",
        subject_id=entry.id,
        after={"version": version.number, "status": "draft"},
        reason=comment,
    )
    return version


async def do_withdraw(
    *, session: AsyncSession, entry: KnowledgeEntry, expected_revision: int, actor: Actor, reason: str
) -> KnowledgeVersion:
    """Take the published version offline (archived, "withdrawn"); a newer draft or review is kept."""
    await _claim(session, entry, expected_revision)
    if entry.live_number is None:
        raise Conflict(
            f"Entry {entry.key} has no published version to withdraw.",
            code="invalid_transition",
            details={"status": entry.status, "needed": "a published version", "action": "withdraw"},
        )
    version = await get_version(session=session, entry=entry, number=entry.live_number)
    now = utcnow()
    version.status = "archived"
    version.archived_at = now
    version.archive_reason = "withdrawn"
    version.archive_note = reason
    version.updated_at = now
    entry.live_number = None
    if version.number == entry.head_number:
        _sync_entry(entry, version)
    else:
        entry.updated_at = now
    revision = await do_bump_revision(session=session)
    await session.flush()
    do_record(
        session=session,
        actor=actor,
        action="knowledge.withdraw",
        subject_type="knowledge_entry",
        subject_id=entry.id,
        before={"live_version": version.number},
        after={"live_version": None, "knowledge_revision": revision},
        reason=reason,
    )
    emit(
        session,
        ENTRY_WITHDRAWN,
        {"entry_id": entry.id, "key": entry.key, "version": version.number, "knowledge_revision": revision},
    )
    return version


async def do_load_published(
    *, session: AsyncSession, content: EntryContent, key: str, actor: Actor
) -> KnowledgeEntry:
    """A new entry published at once, for trusted loads by the system (the demo bank): no review, since no
    person wrote it. Staff content always goes through draft and review."""
    if actor.type != "system":
        raise Forbidden("Only the system loads published entries directly.", code="forbidden")
    entry = await do_create_entry(session=session, content=content, actor=actor, key=key)
    version = await get_head(session=session, entry=entry)
    now = utcnow()
    version.status = "published"
    version.submitted_at = now
    version.reviewed_at = now
    version.published_at = now
    version.review_outcome = "approved"
    version.reviewer_name = actor.name[:100]
    entry.live_number = version.number
    _sync_entry(entry, version)
    revision = await do_bump_revision(session=session)
    await session.flush()
    do_record(
        session=session,
        actor=actor,
        action="knowledge.load_published",
        subject_type="knowledge_entry",
        subject_id=entry.id,
        after={"version": version.number, "status": "published", "knowledge_revision": revision},
    )
    return entry


# ---------------------------------------------------------------------------------------------
# Search: the per-process index cache and the entry points the bot calls.

SearchResult = retrieval.SearchResult
Hit = retrieval.Hit


class IndexCache:
    """One FaqIndex per language, rebuilt when the kb_state stamp differs from the one it was built from."""

    def __init__(self) -> None:
        self._indexes: dict[str, tuple[str, retrieval.FaqIndex]] = {}
        self._locks: dict[tuple[int, str], asyncio.Lock] = {}
        self._prior: retrieval.IntentPrior | None = None
        self._prior_loaded = False
        self.builds = 0  # how many indexes this process built (tests and the benchmark read it)

    def clear(self) -> None:
        self._indexes.clear()

    def _lock(self, language: str) -> asyncio.Lock:
        key = (id(asyncio.get_running_loop()), language)
        if key not in self._locks:
            self._locks[key] = asyncio.Lock()
        return self._locks[key]

    def prior(self) -> retrieval.IntentPrior | None:
        if not self._prior_loaded:
            self._prior = retrieval.nlu_prior()
            self._prior_loaded = True
        return self._prior

    async def get(self, *, session: AsyncSession, language: str) -> retrieval.FaqIndex:
        revision, stamp = await get_state(session=session)
        cached = self._indexes.get(language)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        async with self._lock(language):
            cached = self._indexes.get(language)
            if cached is not None and cached[0] == stamp:
                return cached[1]
            entries = await load_indexed_entries(session=session, language=language)
            index = await asyncio.to_thread(self._build, entries, language, revision)
            self._indexes[language] = (stamp, index)
            self.builds += 1
            log.info(
                "knowledge index %s rebuilt: revision %s, %s entries, %.2fs, calibration %s",
                language,
                revision,
                len(entries),
                index.stats.seconds,
                index.calibration.describe(),
            )
            return index

    def _build(
        self, entries: list[retrieval.IndexedEntry], language: str, revision: int
    ) -> retrieval.FaqIndex:
        from threadpoolctl import threadpool_limits

        # One BLAS thread: a rebuild must not take every core from the requests being served.
        with threadpool_limits(limits=1):
            return retrieval.FaqIndex(
                entries,
                language=language,
                revision=revision,
                prior=self.prior(),
                background=retrieval.background_texts(language),
            )


_cache = IndexCache()


def get_index_cache() -> IndexCache:
    return _cache


async def load_indexed_entries(*, session: AsyncSession, language: str) -> list[retrieval.IndexedEntry]:
    """The published versions of a language (validity and channels are filtered at query time)."""
    stmt = (
        select(KnowledgeVersion, KnowledgeEntry.key)
        .join(KnowledgeEntry, KnowledgeEntry.id == KnowledgeVersion.entry_id)
        .where(KnowledgeVersion.status == "published", KnowledgeVersion.language == language)
        .order_by(KnowledgeVersion.entry_id)
    )
    return [
        retrieval.IndexedEntry(
            entry_id=v.entry_id,
            key=key,
            version=v.number,
            language=v.language,
            category=v.category,
            intent=v.intent,
            standard_question=v.standard_question,
            similar_questions=tuple(v.similar_questions),
            answer_html=v.answer_html,
            answer_text=v.answer_text,
            channels=frozenset(v.channels),
            valid_from=v.valid_from,
            valid_to=v.valid_to,
            products=tuple(
                frozenset(product_key(name) for name in (p["name"], *p.get("aliases", ())))
                for p in v.products
            ),
        )
        for v, key in (await session.execute(stmt)).all()
    ]


def _language(language: str) -> str:
    return "en" if language.lower().startswith("en") else "zh-CN"


async def search(
    *,
    session: AsyncSession,
    query: str,
    language: str,
    channel: str,
    limit: int = 3,
    products: Sequence[str] = (),
) -> SearchResult:
    """Rank the published entries that serve `channel` today for `query`, with the decision:
    `answer` (hits[0] answers), `suggest` (offer the hits: format_suggestions) or `none`. Entries about
    one of `products` (names recognised in the query: `find_products`) are preferred."""
    index = await _cache.get(session=session, language=_language(language))
    return index.search(
        query.strip()[:500],
        channel=channel or None,
        today=bank_today(),
        limit=max(1, limit),
        product_keys={product_key(p) for p in products},
    )


async def get_published_answer(
    *, session: AsyncSession, intent: str, language: str, channel: str
) -> Hit | None:
    """The published entry for an intent (one limited to `channel` first, then the oldest), valid today;
    score 1.0. None when the knowledge base has no such answer."""
    index = await _cache.get(session=session, language=_language(language))
    entry = index.for_intent(intent, channel=channel or None, today=bank_today())
    return None if entry is None else _direct_hit(entry)


async def get_published_entry(
    *, session: AsyncSession, entry_id: int, language: str, channel: str
) -> Hit | None:
    """A published entry by id (a suggestion the customer picked), if it serves `channel` today; score 1.0."""
    index = await _cache.get(session=session, language=_language(language))
    entry = index.by_id(entry_id, channel=channel or None, today=bank_today())
    return None if entry is None else _direct_hit(entry)


def _direct_hit(entry: retrieval.IndexedEntry) -> Hit:
    """A hit that was asked for by intent or id, not found by a query: the matched question is the
    standard one and the score is 1."""
    return Hit(
        entry_id=entry.entry_id,
        key=entry.key,
        version=entry.version,
        language=entry.language,
        category=entry.category,
        intent=entry.intent,
        standard_question=entry.standard_question,
        matched_question=entry.standard_question,
        answer_html=entry.answer_html,
        answer_text=entry.answer_text,
        score=1.0,
        lexical=0.0,
        semantic=0.0,
        intent_prior=0.0,
    )


# ---------------------------------------------------------------------------------------------
# The product catalogue: what the bot's entity extractor looks for.


@dataclass(frozen=True, slots=True)
class CatalogueProduct:
    name: str
    aliases: tuple[str, ...]
    valid_from: date | None
    valid_to: date | None

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )


def product_names(products: Sequence[CatalogueProduct]) -> dict[str, str]:
    """Every name and alias → the product's name (what an extracted entity reports). A product's own
    name wins over another's alias; an alias two products claim is left out (it names neither)."""
    names: dict[str, str] = {}  # key → product name
    spelled: dict[str, str] = {}  # key → the spelling first seen
    for product in products:
        key = product_key(product.name)
        if key not in names:
            names[key] = product.name
            spelled[key] = product.name
    aliases: dict[str, str | None] = {}
    for product in products:
        owner = names[product_key(product.name)]
        for alias in product.aliases:
            key = product_key(alias)
            if key in names:
                continue
            if key in aliases and aliases[key] != owner:
                aliases[key] = None  # ambiguous
            else:
                aliases.setdefault(key, owner)
                spelled.setdefault(key, alias)
    result = {spelled[k]: v for k, v in names.items()}
    result.update({spelled[k]: v for k, v in aliases.items() if v is not None})
    return result


class ProductCache:
    """The products of the published versions (both languages), re-read when the kb_state stamp moves;
    validity is applied per day, so a product leaves the catalogue at midnight without a rebuild."""

    def __init__(self) -> None:
        self._stamp: str | None = None
        self._products: list[CatalogueProduct] = []
        self._names: tuple[str, date, dict[str, str]] | None = None
        self.loads = 0  # how many times this process read the catalogue (tests read it)

    def clear(self) -> None:
        self._stamp, self._products, self._names = None, [], None

    async def names(self, *, session: AsyncSession, today: date) -> dict[str, str]:
        _, stamp = await get_state(session=session)
        if stamp != self._stamp:
            stmt = (
                select(KnowledgeVersion.products, KnowledgeVersion.valid_from, KnowledgeVersion.valid_to)
                .where(KnowledgeVersion.status == "published")
                .order_by(KnowledgeVersion.entry_id)
            )
            self._products = [
                CatalogueProduct(
                    name=str(p["name"]),
                    aliases=tuple(str(a) for a in p.get("aliases") or ()),
                    valid_from=valid_from,
                    valid_to=valid_to,
                )
                for products, valid_from, valid_to in (await session.execute(stmt)).all()
                for p in products or ()
            ]
            self._stamp, self._names = stamp, None
            self.loads += 1
        if self._names is None or self._names[:2] != (stamp, today):
            valid = [p for p in self._products if p.valid_on(today)]
            self._names = (stamp, today, product_names(valid))
        return self._names[2]


_products = ProductCache()


def get_product_cache() -> ProductCache:
    return _products


async def get_product_names(*, session: AsyncSession) -> dict[str, str]:
    """The product catalogue: every name and alias of the products of the published entries valid today
    → the product's name; for `extract_entities(text, products=…)`."""
    return await _products.names(session=session, today=bank_today())


async def find_products(*, session: AsyncSession, text: str) -> list[str]:
    """The catalogue's products named in a text, in the order they appear, each once."""
    catalogue = await get_product_names(session=session)
    found = [str(e.value) for e in extract_entities(text, products=catalogue) if e.type == "product"]
    return list(dict.fromkeys(found))


SUGGESTION_PROMPTS = {
    "zh-CN": ("您是想问：", "请回复序号，或换个说法再问我。"),
    "en": ("Did you mean:", "Reply with a number, or ask me in other words."),
}


def format_suggestions(result: SearchResult) -> str | None:
    """The "您是想问：…" message for a `suggest` result (numbered standard questions), else None."""
    if result.decision != "suggest" or not result.hits:
        return None
    intro, outro = SUGGESTION_PROMPTS[_language(result.language)]
    lines = [intro, *(f"{n}. {hit.standard_question}" for n, hit in enumerate(result.hits, start=1)), outro]
    return "\n".join(lines)
