"""Suggested knowledge answers for agent assist: the seam where the knowledge base plugs in.

TRANSITIONAL until `lingxi.knowledge` lands on main: there is no knowledge base to search, so there
are no suggestions and `available` is False (the workspace says "knowledge base not connected"
instead of showing an empty list as if nothing matched). When it lands, `suggest_answers` calls
`lingxi.knowledge.service`'s search for the customer's latest message and maps its hits to
`SuggestedAnswer`; nothing else in the agents domain changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class SuggestedAnswer:
    entry_id: int
    question: str
    answer: str
    score: float


@dataclass(frozen=True, slots=True)
class Suggestions:
    available: bool  # is a knowledge base connected at all
    items: list[SuggestedAnswer]


async def suggest_answers(
    *, session: AsyncSession, query: str, language: str, channel: str, limit: int = 3
) -> Suggestions:
    return Suggestions(available=False, items=[])
