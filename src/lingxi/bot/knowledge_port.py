"""How the bot asks the knowledge base: published answers by intent, search for everything else, and the
product catalogue its entity extractor looks for.

The bot sees plain values (`KnowledgeHit`, a name → product mapping); the knowledge domain's own types
stay behind this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.knowledge import service as knowledge
from lingxi.knowledge.retrieval import RICH_CHANNELS, Hit


@dataclass(frozen=True, slots=True)
class KnowledgeHit:
    entry_id: int
    question: str
    answer_text: str  # plain text: what every channel shows
    answer_html: str | None  # sanitised rich text for the H5 page and the app, else None
    intent: str | None
    score: float


@dataclass(frozen=True, slots=True)
class KnowledgeResult:
    decision: str  # answer | suggest | none
    hits: list[KnowledgeHit] = field(default_factory=list)


def _hit(hit: Hit, channel: str) -> KnowledgeHit:
    return KnowledgeHit(
        entry_id=hit.entry_id,
        question=hit.standard_question,
        answer_text=hit.answer_text,
        answer_html=hit.answer_html if channel in RICH_CHANNELS else None,
        intent=hit.intent,
        score=hit.score,
    )


async def search(
    *, session: AsyncSession, query: str, language: str, channel: str, products: Sequence[str] = ()
) -> KnowledgeResult:
    """Answers for a message; entries about `products` (recognised in it) are preferred."""
    result = await knowledge.search(
        session=session, query=query, language=language, channel=channel, limit=3, products=products
    )
    return KnowledgeResult(decision=result.decision, hits=[_hit(h, channel) for h in result.hits])


async def product_catalogue(*, session: AsyncSession) -> Mapping[str, str]:
    """Every name and alias of the products of the published entries valid today → the product's name,
    for `extract_entities(text, products=…)`. Cached per process; a publication is seen at once."""
    return await knowledge.get_product_names(session=session)


async def get_answer(
    *, session: AsyncSession, intent: str, language: str, channel: str
) -> KnowledgeHit | None:
    hit = await knowledge.get_published_answer(
        session=session, intent=intent, language=language, channel=channel
    )
    return _hit(hit, channel) if hit is not None else None


async def get_entry(
    *, session: AsyncSession, entry_id: int, language: str, channel: str
) -> KnowledgeHit | None:
    """A published entry the customer picked from the suggestions (None if withdrawn meanwhile)."""
    hit = await knowledge.get_published_entry(
        session=session, entry_id=entry_id, language=language, channel=channel
    )
    return _hit(hit, channel) if hit is not None else None
