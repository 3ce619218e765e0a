"""Request and response models of the knowledge base API."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lingxi.knowledge.intents import is_known_intent
from lingxi.knowledge.models import CHANNELS
from lingxi.nlu.text import to_half_width

Language = Literal["zh-CN", "en"]
Channel = Literal["webchat", "app", "wechat", "sms", "ivr"]
Status = Literal["draft", "in_review", "published", "archived"]
ExportScope = Literal["published", "all"]

KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
MAX_QUESTION_CHARS = 200
MAX_SIMILAR = 50
MAX_RAW_ANSWER_CHARS = 50_000  # before sanitising (pasted HTML carries markup that is removed)
MAX_CATEGORY_CHARS = 60
MAX_PRODUCTS = 20
MAX_PRODUCT_CHARS = 40
MIN_PRODUCT_CHARS = 2  # one character ("贷") would be found in far too many messages
MAX_ALIASES = 10
# The text form of products (import cells, the console): products on separate lines (or separated by
# ";"), a product's other names after its name, separated by "/". Names may not contain them.
PRODUCT_SEPARATORS = ";；\n"
ALIAS_SEPARATORS = "/／"

_SPACES = re.compile(r"\s+")
_PRODUCT_FORBIDDEN = re.compile(r"[;；/／\r\n]")
_PRODUCT_SPLIT = re.compile(r"[;；\r\n]")
_ALIAS_SPLIT = re.compile(r"[/／]")

Question = Annotated[str, Field(min_length=1, max_length=MAX_QUESTION_CHARS)]


def clean_line(value: str) -> str:
    """One line of text: surrounding and repeated white space removed."""
    return _SPACES.sub(" ", value).strip()


def product_key(name: str) -> str:
    """How product names are compared: full-width folded, white space removed, case-folded (the rule
    of the entity extractor, so "灵犀现金宝A" and "灵犀现金宝 a" are one product)."""
    return _SPACES.sub("", to_half_width(name)).casefold()


def _product_name(value: str) -> str:
    name = clean_line(value)
    if not name:
        raise ValueError("a product name must not be blank")
    if len(name) > MAX_PRODUCT_CHARS:
        raise ValueError(f"product name '{name[:20]}…' is longer than {MAX_PRODUCT_CHARS} characters")
    if _PRODUCT_FORBIDDEN.search(name):
        raise ValueError(f"product name '{name}' may not contain ';' or '/' (they separate names)")
    if len(product_key(name)) < MIN_PRODUCT_CHARS:
        raise ValueError(f"product name '{name}' is too short (at least {MIN_PRODUCT_CHARS} characters)")
    return name


class Product(BaseModel):
    """A product an entry is about: its name and the other names customers use for it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description=f"{MIN_PRODUCT_CHARS}–{MAX_PRODUCT_CHARS} characters")
    aliases: list[str] = Field(
        default_factory=list, max_length=MAX_ALIASES, description="other names (e.g. 现金宝)"
    )

    @field_validator("name", mode="after")
    @classmethod
    def _name(cls, value: str) -> str:
        return _product_name(value)

    @field_validator("aliases", mode="after")
    @classmethod
    def _aliases(cls, values: list[str]) -> list[str]:
        return [_product_name(v) for v in values if clean_line(v)]

    @property
    def names(self) -> list[str]:
        return [self.name, *self.aliases]


def parse_products(text: str) -> list[dict[str, Any]]:
    """The text form → products: "灵犀现金宝 A / 现金宝\n灵犀 e 贷 / e贷" (blank parts dropped)."""
    products: list[dict[str, Any]] = []
    for line in _PRODUCT_SPLIT.split(text):
        names = [clean_line(part) for part in _ALIAS_SPLIT.split(line)]
        names = [n for n in names if n]
        if names:
            products.append({"name": names[0], "aliases": names[1:]})
    return products


def products_text(products: list[Any], *, separator: str = "\n") -> str:
    """Products → the text form (one product per line by default)."""
    return separator.join(
        " / ".join([str(p["name"]), *(str(a) for a in p.get("aliases") or ())]) for p in products
    )


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
    products: list[Product] = Field(
        default_factory=list,
        max_length=MAX_PRODUCTS,
        description="the products the entry is about; a plain string is a name without aliases",
    )

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

    @field_validator("products", mode="before")
    @classmethod
    def _product_strings(cls, values: Any) -> Any:
        if isinstance(values, list):
            return [{"name": v} if isinstance(v, str) else v for v in values]
        return values

    @field_validator("products", mode="after")
    @classmethod
    def _distinct_products(cls, values: list[Product]) -> list[Product]:
        """Each name once in the entry: a repeated product or alias is dropped."""
        seen: set[str] = set()
        distinct: list[Product] = []
        for product in values:
            if product_key(product.name) in seen:
                continue
            seen.add(product_key(product.name))
            aliases = []
            for alias in product.aliases:
                if product_key(alias) not in seen:
                    seen.add(product_key(alias))
                    aliases.append(alias)
            distinct.append(Product(name=product.name, aliases=aliases))
        return distinct

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
    products: list[Product]
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
    product_match: bool = Field(description="about a product the question names (preferred)")


class SearchRead(BaseModel):
    decision: Literal["answer", "suggest", "none"]
    products: list[str] = Field(
        description="the catalogue's products the question names (entries about them are preferred)"
    )
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
