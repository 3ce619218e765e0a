"""Loads the demo knowledge base (data/knowledge.yaml) as published FAQ entries, in Chinese and English.

Each item of the file becomes one entry per language with the key "<key>.<language>"; the loader publishes
them directly as the system (no person wrote them, so there is nobody to review them). Items whose entry
exists already are left as they are, so the loader can run again after content was added.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.core.actor import Actor
from lingxi.knowledge import service as knowledge
from lingxi.knowledge.models import KnowledgeEntry
from lingxi.knowledge.schemas import EntryContent, parse_products

DEMO_KNOWLEDGE = Path(__file__).resolve().parent / "data" / "knowledge.yaml"
LANGUAGES = ("zh-CN", "en")


def demo_entries(path: Path = DEMO_KNOWLEDGE) -> list[tuple[str, EntryContent]]:
    """(key, content) of every demo entry, validated like any other content."""
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    categories: dict[str, dict[str, str]] = data["categories"]
    entries: list[tuple[str, EntryContent]] = []
    for item in data["entries"]:
        products = [p for line in item.get("products") or () for p in parse_products(line)]
        for language in LANGUAGES:
            text = item[language]
            content = EntryContent(
                standard_question=text["question"],
                similar_questions=list(text.get("similar") or []),
                answer=text["answer"],
                category=categories[item["category"]][language],
                intent=item.get("intent"),
                channels=list(item.get("channels") or []),
                language=language,
                products=products,
            )
            entries.append((f"{item['key']}.{language}", content))
    return entries


async def load_demo_knowledge(*, session: AsyncSession, actor: Actor) -> dict[str, int]:
    """Publish the demo entries that do not exist yet."""
    entries = demo_entries()
    existing = set(
        (
            await session.scalars(
                select(KnowledgeEntry.key).where(KnowledgeEntry.key.in_([k for k, _ in entries]))
            )
        ).all()
    )
    created = 0
    for key, content in entries:
        if key in existing:
            continue
        await knowledge.do_load_published(session=session, content=content, key=key, actor=actor)
        created += 1
    return {"faq_entries": created}
