"""The seam where the knowledge base plugs into the invalid-order guard.

Before an order is created, `check_before_create` asks the installed `KnowledgeCheck` whether the
knowledge base already answers the question; the caller then offers the answer instead of an order.
The tickets domain does not depend on the knowledge domain: the knowledge package (or the app
start-up) installs an adapter with `set_knowledge_check`, e.g. around
`lingxi.knowledge.service.search(*, session, query, language, channel)`. Without one, no answer is
offered and only the duplicate check runs.
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


def get_knowledge_check() -> KnowledgeCheck | None:
    return _installed


class _NoKnowledge:
    """Skips the knowledge check (staff who open an order have already decided it is needed)."""

    async def __call__(
        self, *, session: AsyncSession, query: str, language: str, channel: str | None
    ) -> Sequence[KnowledgeSuggestion]:
        return []


NO_KNOWLEDGE: KnowledgeCheck = _NoKnowledge()
