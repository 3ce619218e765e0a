"""What the bot says: text (all a WeChat or SMS customer sees) plus structure the H5 page renders.

payload = {
  "quick_replies": [{"label": "确认", "text": "确认"}],     # buttons that send `text`
  "card": {"type": "balance", "title": "…", "rows": [{"label", "value", "note"}], "footer": "…"},
  "step_up": {"methods": ["otp", "biometric"], "challenge_id": "…", "phone": "138****1234"},
}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Reply:
    text: str
    payload: dict[str, Any] = field(default_factory=dict)

    def with_quick_replies(self, labels: list[tuple[str, str]]) -> Reply:
        self.payload["quick_replies"] = [{"label": label, "text": text} for label, text in labels]
        return self


def card_reply(
    *, kind: str, title: str, rows: list[tuple[str, str, str]], footer: str = "", language: str = "zh-CN"
) -> Reply:
    """A card for the H5 page; the text is the same content as plain lines for text-only channels."""
    text = rows_text(title, rows, footer, language=language)
    card = {
        "type": kind,
        "title": title,
        "rows": [{"label": label, "value": value, "note": note} for label, value, note in rows],
        "footer": footer,
    }
    return Reply(text=text, payload={"card": card})


def rows_text(
    title: str, rows: list[tuple[str, str, str]], footer: str = "", *, language: str = "zh-CN"
) -> str:
    en = language.startswith("en")
    lines = [title]
    for label, value, note in rows:
        lines.append(
            f"· {label}{': ' if en else '：'}{value}"
            + ((f" ({note})" if en else f"（{note}）") if note else "")
        )
    if footer:
        lines.append(footer)
    return "\n".join(lines)
