"""The standard intent taxonomy, read from the copy of the project's contract file (shared/intents.yaml)
that ships in the bot package (lingxi/bot/intents.yaml). The file is read, not the bot's code imported:
the bot depends on the knowledge base, not the other way round.

FAQ entries may name an intent; the id must exist here. Intents of kind `faq` are answered from the
knowledge base, so the demo content has a published entry for each of them in both languages.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

TAXONOMY_FILE = Path(__file__).resolve().parents[1] / "bot" / "intents.yaml"


@dataclass(frozen=True, slots=True)
class Intent:
    id: str
    zh: str
    en: str
    level: str
    kind: str  # faq | task | route


@lru_cache(maxsize=1)
def load_intents() -> dict[str, Intent]:
    """Intent id → Intent, in the taxonomy's order."""
    data = yaml.safe_load(TAXONOMY_FILE.read_text(encoding="utf-8"))
    return {
        str(row["id"]): Intent(
            id=str(row["id"]),
            zh=str(row["zh"]),
            en=str(row["en"]),
            level=str(row["level"]),
            kind=str(row["kind"]),
        )
        for row in data["intents"]
    }


def is_known_intent(intent_id: str) -> bool:
    return intent_id in load_intents()


def faq_intents() -> list[Intent]:
    return [i for i in load_intents().values() if i.kind == "faq"]
