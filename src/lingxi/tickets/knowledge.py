"""Where the knowledge base plugs into the invalid-order guard.

Before an order is created, `check_before_create` asks the `KnowledgeCheck` whether the knowledge
base already answers the question; the caller then offers the answer instead of an order. The default
check searches the published FAQ (`lingxi.knowledge.service.search`) and offers what it would answer
or suggest; tests (or a bank with another knowledge system) install their own with
`set_knowledge_check`. Staff who open an order have already decided it is needed: they pass
`NO_KNOWLEDGE`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class KnowledgeSuggestion:
    title: str
    answer: str
    score: float  # 0..1, the knowledge base's own confidence
    article_id: str | None = None


class KnowledgeCheck(Protocol):
    async def __call__(
        self, *, session: AsyncSession, query: str, language: str, channel: str | None
    ) -> Sequence[KnowledgeSuggestion]: ...


_installed: KnowledgeCheck | None = None


def set_knowledge_check(check: KnowledgeCheck | None) -> None:
    global _installed
    _installed = check


def get_knowledge_check() -> KnowledgeCheck:
    return _installed or KNOWLEDGE_BASE


class _KnowledgeBase:
    """The published FAQ: entries the bot would answer with, or offer as "您是想问"."""

    async def __call__(
        self, *, session: AsyncSession, query: str, language: str, channel: str | None
    ) -> Sequence[KnowledgeSuggestion]:
        from lingxi.knowledge import service as knowledge

        result = await knowledge.search(
            session=session, query=query, language=language, channel=channel or ""
        )
        if result.decision == "none":
            return []
        return [
            KnowledgeSuggestion(
                title=hit.standard_question, answer=hit.answer_text, score=hit.score, article_id=hit.key
            )
            for hit in result.hits
        ]


KNOWLEDGE_BASE: KnowledgeCheck = _KnowledgeBase()


class _NoKnowledge:
    """Skips the knowledge check (staff who open an order have already decided it is needed)."""

    async def __call__(
        self, *, session: AsyncSession, query: str, language: str, channel: str | None
    ) -> Sequence[KnowledgeSuggestion]:
        return []


NO_KNOWLEDGE: KnowledgeCheck = _NoKnowledge()
