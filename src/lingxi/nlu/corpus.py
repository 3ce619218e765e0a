"""Training and evaluation examples from CSV files.

Accepted form: a header row with a ``text`` column and an ``intent`` column, or the BANKING77 form
``text,category``; other columns are ignored. UTF-8 with or without a byte-order mark. Rows whose text is
blank are skipped; a row with text but no intent is an error (it would silently shrink the data).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


class DataError(ValueError):
    """The examples file cannot be used; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    intent: str


LABEL_COLUMNS = ("intent", "category", "label")


def read_examples(path: str | Path) -> list[Example]:
    """Examples of a CSV file (see module docstring); raises DataError with a message a person can act on."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    raw = path.read_bytes()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from exc
    return parse_examples(content, source=str(path))


def parse_examples(content: str, *, source: str = "<data>") -> list[Example]:
    content = content.removeprefix("\ufeff")
    if not content.strip():
        raise DataError(
            f"{source}: the file is empty; expected a header `text,intent` and one example per row"
        )
    reader = csv.DictReader(io.StringIO(content, newline=""))
    fields = [(f or "").strip().lower() for f in (reader.fieldnames or [])]
    reader.fieldnames = fields
    if "text" not in fields:
        raise DataError(
            f"{source}: no `text` column (columns: {', '.join(fields) or 'none'}); expected `text,intent`"
        )
    label = next((c for c in LABEL_COLUMNS if c in fields), None)
    if label is None:
        raise DataError(
            f"{source}: no `intent` (or BANKING77 `category`) column (columns: {', '.join(fields)});"
            " expected `text,intent`"
        )
    examples: list[Example] = []
    for row in reader:
        line_no = reader.line_num
        text = (row.get("text") or "").strip()
        intent = (row.get(label) or "").strip()
        if not text:
            continue
        if not intent:
            raise DataError(f"{source}, row {line_no}: the text has no {label}")
        examples.append(Example(text=text, intent=intent))
    if not examples:
        raise DataError(f"{source}: the header is there but no example rows")
    return examples


def intent_counts(examples: Iterable[Example]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ex in examples:
        counts[ex.intent] = counts.get(ex.intent, 0) + 1
    return dict(sorted(counts.items()))
