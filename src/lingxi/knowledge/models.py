"""FAQ entries with versions, and the knowledge revision stamp that tells every process to rebuild.

An entry is the stable thing the bot answers with (its `key` survives edits, imports and exports); its
content lives in versions. Version `head_number` is the newest one (whatever its status), version
`live_number` the one published (none when nothing is live). The entry copies the head version's
filterable fields (language, category, intent, standard question) so that lists filter one table.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lingxi.core.db import Base
from lingxi.core.timeutil import utcnow

LANGUAGES = ("zh-CN", "en")
# The channels an answer may be limited to; an empty list means every channel.
CHANNELS = ("webchat", "app", "wechat", "sms", "ivr")
STATUSES = ("draft", "in_review", "published", "archived")
ARCHIVE_REASONS = ("superseded", "withdrawn")


class KnowledgeEntry(Base):
    __tablename__ = "kb_entries"
    __table_args__ = (
        Index("ix_kb_entries_status", "status", "updated_at"),
        Index("ix_kb_entries_language_category", "language", "category"),
        Index("ix_kb_entries_intent", "intent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(20))  # the head version's status
    head_number: Mapped[int] = mapped_column(default=1)
    live_number: Mapped[int | None] = mapped_column(default=None)
    language: Mapped[str] = mapped_column(String(10))
    category: Mapped[str] = mapped_column(String(60))
    intent: Mapped[str | None] = mapped_column(String(60), default=None)
    standard_question: Mapped[str] = mapped_column(String(200))
    # Optimistic concurrency: every change of the entry or one of its versions adds one; clients send it
    # back (If-Match / expected_revision) and a stale value gets 409.
    revision: Mapped[int] = mapped_column(default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class KnowledgeVersion(Base):
    __tablename__ = "kb_versions"
    __table_args__ = (
        UniqueConstraint("entry_id", "number"),
        Index("ix_kb_versions_status_language", "status", "language"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("kb_entries.id", ondelete="CASCADE"))
    number: Mapped[int]
    status: Mapped[str] = mapped_column(String(20), default="draft")
    language: Mapped[str] = mapped_column(String(10))
    category: Mapped[str] = mapped_column(String(60))
    intent: Mapped[str | None] = mapped_column(String(60), default=None)
    standard_question: Mapped[str] = mapped_column(String(200))
    similar_questions: Mapped[list[Any]] = mapped_column(default=list)
    answer_html: Mapped[str] = mapped_column(Text)  # sanitised on save (lingxi.knowledge.richtext)
    answer_text: Mapped[str] = mapped_column(Text)  # plain text derived from it (WeChat, SMS, IVR)
    channels: Mapped[list[Any]] = mapped_column(default=list)  # empty = every channel
    # The products the entry is about: [{"name": "灵犀现金宝 A", "aliases": ["现金宝"]}, …]. The bot
    # recognises the names of published entries in customer messages (docs/knowledge.md).
    products: Mapped[list[Any]] = mapped_column(default=list)
    valid_from: Mapped[date | None] = mapped_column(default=None)  # bank-local dates, inclusive
    valid_to: Mapped[date | None] = mapped_column(default=None)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), default=None)
    author_name: Mapped[str] = mapped_column(String(100), default="")
    # Every staff user who wrote into this version: none of them may approve it (four-eyes).
    contributor_ids: Mapped[list[Any]] = mapped_column(default=list)
    submitted_at: Mapped[datetime | None] = mapped_column(default=None)
    submitted_by_name: Mapped[str | None] = mapped_column(String(100), default=None)
    reviewed_at: Mapped[datetime | None] = mapped_column(default=None)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), default=None)
    reviewer_name: Mapped[str | None] = mapped_column(String(100), default=None)
    review_outcome: Mapped[str | None] = mapped_column(String(20), default=None)  # approved | rejected
    review_comment: Mapped[str | None] = mapped_column(String(1000), default=None)
    published_at: Mapped[datetime | None] = mapped_column(default=None)
    archived_at: Mapped[datetime | None] = mapped_column(default=None)
    archive_reason: Mapped[str | None] = mapped_column(String(20), default=None)  # superseded | withdrawn
    archive_note: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class KnowledgeState(Base):
    """One row (id 1): the knowledge revision, bumped in the transaction of every publish and withdrawal.

    Each process keeps its search index in memory tagged with the revision it was built from; a search
    reads this one row and rebuilds only when the number moved (another process may have published).
    """

    __tablename__ = "kb_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(default=0)
    # A new random value with every bump: tells indexes of another database apart (tests, restores).
    stamp: Mapped[str] = mapped_column(String(32), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
