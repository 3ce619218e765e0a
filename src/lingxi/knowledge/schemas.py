"""Request and response models of the knowledge base API."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lingxi.knowledge.intents import is_known_intent
from lingxi.knowledge.models import CHANNELS

Language = Literal["zh-CN", "en"]
Channel = Literal["webchat", "app", "wechat", "sms", "ivr"]
Status = Literal["draft", "in_review", "published", "archived"]
ExportScope = Literal["published", "all"]

KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
MAX_QUESTION_CHARS = 200
MAX_SIMILAR = 50
MAX_RAW_ANSWER_CHARS = 50_000  # before sanitising (pasted HTML carries markup that is removed)
MAX_CATEGORY_CHARS = 60

_SPACES = re.compile(r"\s+")

Question = Annotated[str, Field(min_length=1, max_length=MAX_QUESTION_CHARS)]


def clean_line(value: str) -> str:
    """One line of text: surrounding and repeated white space removed."""
    return _SPACES.sub(" ", value).strip()


class EntryContent(BaseModel):
    """What an editor writes: the content of one version."""

    model_config = ConfigDict(extra="forbid")

    standard_question: Question
    similar_questions: list[Annotated[str, Field(max_length=MAX_QUESTION_CHARS)]] = Field(
        default_factory=list, max_length=MAX_SIMILAR, description="blank lines are dropped"
    )
    answer: str = Field(
        min_length=1, max_length=MAX_RAW_ANSWER_CHARS, description="HTML subset or plain text"
    )
    category: str = Field(min_length=1, max_length=MAX_CATEGORY_CHARS)
    intent: str | None = Field(default=None, max_length=60, description="an id of the standard taxonomy")
    channels: list[Channel] = Field(default_factory=list, description="empty = every channel")
    valid_from: date | None = None
    valid_to: date | None = None
    language: Language = "zh-CN"

    @field_validator("standard_question", "category", mode="after")
    @classmethod
    def _one_line(cls, value: str) -> str:
        value = clean_line(value)
        if not value:
            raise ValueError("must not be blank")
        return value

    @field_validator("similar_questions", mode="after")
    @classmethod
    def _similar(cls, values: list[str]) -> list[str]:
        cleaned: list[str] = []
        seen: set[str] = set()
        for value in values:
            line = clean_line(value)
            if line and line.lower() not in seen:
                seen.add(line.lower())
                cleaned.append(line)
        return cleaned

    @field_validator("intent", mode="before")
    @classmethod
    def _blank_intent(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("intent", mode="after")
    @classmethod
    def _known_intent(cls, value: str | None) -> str | None:
        if value is not None:
            value = value.strip()
            if not is_known_intent(value):
                raise ValueError(f"unknown intent '{value}' (see GET /api/knowledge/meta for the list)")
        return value

    @field_validator("channels", mode="after")
    @classmethod
    def _channels(cls, values: list[str]) -> list[str]:
        return [c for c in CHANNELS if c in set(values)]  # canonical order, no duplicates

    @model_validator(mode="after")
    def _dates_and_duplicates(self) -> EntryContent:
        if self.valid_from and self.valid_to and self.valid_from > self.valid_to:
            raise ValueError("valid_from must not be after valid_to")
        standard = self.standard_question.lower()
        self.similar_questions = [q for q in self.similar_questions if q.lower() != standard]
        return self


class EntryCreate(EntryContent):
    key: str | None = Field(
        default=None,
        pattern=KEY_PATTERN,
        description="stable key (letters, digits, . _ -); generated if absent",
    )


class DraftSave(EntryContent):
    """Edit the entry's draft (a new draft version when the newest version is published or archived)."""

    revision: int = Field(ge=1, description="the entry's revision you edited (optimistic concurrency)")


class Transition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    revision: int = Field(ge=1, description="the entry's revision you acted on")


class Approval(Transition):
    comment: str | None = Field(default=None, max_length=1000)


class Rejection(Transition):
    comment: str = Field(min_length=1, max_length=1000, description="what the author should change")

    @field_validator("comment", mode="after")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("say what should change")
        return value.strip()


class Withdrawal(Transition):
    reason: str = Field(min_length=1, max_length=500, description="why the answer goes offline")

    @field_validator("reason", mode="after")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("give a reason")
        return value.strip()


# ----------------------------------------------------------------------------------------------- reads


class VersionRead(BaseModel):
    number: int
    status: Status
    language: str
    category: str
    intent: str | None
    standard_question: str
    similar_questions: list[str]
    answer_html: str
    answer_text: str
    channels: list[str]
    valid_from: date | None
    valid_to: date | None
    author_name: str
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    submitted_by_name: str | None
    reviewed_at: datetime | None
    reviewer_name: str | None
    review_outcome: Literal["approved", "rejected"] | None
    review_comment: str | None
    published_at: datetime | None
    archived_at: datetime | None
    archive_reason: Literal["superseded", "withdrawn"] | None
    archive_note: str | None


class EntrySummary(BaseModel):
    id: int
    key: str
    status: Status = Field(description="status of the newest version")
    head_version: int
    live_version: int | None = Field(description="the published version customers get; null = offline")
    language: str
    category: str
    intent: str | None
    standard_question: str
    revision: int
    updated_at: datetime
    author_name: str
    can_review: bool = Field(description="the caller may approve or reject the version in review")


class EntryDetail(EntrySummary):
    versions: list[VersionRead] = Field(description="newest first")


class EntryPage(BaseModel):
    items: list[EntrySummary]
    total: int
    page: int
    page_size: int


class IntentOption(BaseModel):
    id: str
    zh: str
    en: str
    kind: str


class KnowledgeMeta(BaseModel):
    languages: list[str]
    channels: list[str]
    statuses: list[str]
    categories: list[str] = Field(description="categories in use")
    intents: list[IntentOption]
    revision: int
    import_max_rows: int
    import_max_bytes: int


class HitRead(BaseModel):
    entry_id: int
    key: str
    version: int
    category: str
    intent: str | None
    standard_question: str
    matched_question: str
    answer_html: str
    answer_text: str
    score: float = Field(description="calibrated probability that this entry answers the query")
    lexical: float
    semantic: float
    intent_prior: float


class SearchRead(BaseModel):
    decision: Literal["answer", "suggest", "none"]
    prompt: str | None = Field(description="what the bot says for `suggest` (您是想问：…)")
    hits: list[HitRead]
    query: str
    language: str
    channel: str
    revision: int


class ImportProblem(BaseModel):
    row: int | None = Field(description="spreadsheet row (1 = header)")
    column: str | None
    problem: str


class ImportResult(BaseModel):
    dry_run: bool
    rows: int
    created: int
    updated: int
    entries: list[str] = Field(description="keys of the entries created or updated")
