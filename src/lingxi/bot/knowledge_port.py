"""How the bot asks the knowledge base: published answers by intent, and search for everything else.

The bot sees plain values (`KnowledgeHit`); the knowledge domain's own types stay behind this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class KnowledgeHit:
    entry_id: int
    question: str
    answer_text: str  # plain text, for every channel (the H5 page may render the rich answer)
    intent: str | None
    score: float


@dataclass(frozen=True, slots=True)
class KnowledgeResult:
    decision: str  # answer | suggest | none
    hits: list[KnowledgeHit] = field(default_factory=list)


# TRANSITIONAL until the knowledge domain lands on main: no knowledge base means no answers.
async def search(*, session: AsyncSession, query: str, language: str, channel: str) -> KnowledgeResult:
    return KnowledgeResult(decision="none")


async def get_answer(
    *, session: AsyncSession, intent: str, language: str, channel: str
) -> KnowledgeHit | None:
    return None


async def get_entry(*, session: AsyncSession, entry_id: int, language: str) -> KnowledgeHit | None:
    return None
