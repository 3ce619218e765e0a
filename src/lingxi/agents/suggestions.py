"""Suggested knowledge answers for agent assist: the knowledge base searched with the customer's
latest message (`lingxi.knowledge.service.search`, the same ranking the bot uses).

The bot answers only when it is sure; an agent may judge a weaker match, so every hit over
MIN_SCORE is offered, best first, as plain text the agent can put in the reply box and adapt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.knowledge import service as knowledge

MIN_SCORE = 0.15


@dataclass(frozen=True, slots=True)
class SuggestedAnswer:
    entry_id: int
    question: str
    answer: str
    score: float


async def suggest_answers(
    *,
    session: AsyncSession,
    query: str,
    language: str,
    channel: str,
    limit: int = 3,
    products: Sequence[str] = (),
) -> list[SuggestedAnswer]:
    """Answers for the customer's message; entries about `products` (named in it) are preferred."""
    if not query.strip():
        return []
    result = await knowledge.search(
        session=session, query=query, language=language, channel=channel, limit=limit, products=products
    )
    return [
        SuggestedAnswer(
            entry_id=hit.entry_id,
            question=hit.standard_question,
            answer=hit.answer_text,
            score=round(hit.score, 3),
        )
        for hit in result.hits
        if hit.score >= MIN_SCORE
    ]
