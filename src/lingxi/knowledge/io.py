"""Import and export of FAQ entries as Excel (.xlsx) and CSV files, in one table layout.

One row per entry, a header row first. Columns (English names; the Chinese names in COLUMN_ALIASES work
too, in any order):

    key                 optional: the entry to update; empty = a new entry (a key is generated)
    language            zh-CN (default) or en
    category            required
    intent              optional id of the standard intent taxonomy
    standard_question   required
    similar_questions   one per line inside the cell
    answer              required: the HTML subset (p, br, ul, ol, li, b, em, http(s) links) or plain text
    channels            empty = every channel; else names separated by commas: webchat, app, wechat, sms, ivr
                        (or 网页, APP, 微信, 短信, 电话)
    valid_from          optional date YYYY-MM-DD (bank-local, inclusive)
    valid_to            optional date YYYY-MM-DD
    products            optional: the products the entry is about, one per line (or separated by ";"),
                        each with its other names after "/": "灵犀现金宝 A / 现金宝".

Every column but the three required ones may be left out: for an entry the file updates, a column that is
not in the file keeps the entry's current value (a file made before the products column existed, or one
trimmed to the columns being edited), while an empty cell in a column that is there clears it. New
entries get the defaults.

Exports add read-only columns (status, version) that imports ignore, so an exported file imports again as
it is. An import is all or nothing: every row is checked first (content, intent, dates, duplicate keys,
entries that wait for review) and the problems of all rows come back together, each with its row and column;
only a file without problems is applied. Rows become drafts: new entries, or a new draft of the entry with
that key. Files are capped in bytes and rows; .xlsx archives are checked for decompression bombs first.

CSV exports start with a UTF-8 byte-order mark (Excel then reads Chinese correctly), and cells that a
spreadsheet would run as a formula (= + - @ at the start) are written with a leading apostrophe, which the
import removes again. CSV imports accept UTF-8 (with or without BOM) and GB18030 (Excel on Chinese Windows).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lingxi.core.actor import Actor
from lingxi.core.errors import DomainError, TooLarge, ValidationFailed
from lingxi.knowledge import service
from lingxi.knowledge.models import CHANNELS, KnowledgeEntry, KnowledgeVersion
from lingxi.knowledge.richtext import sanitize_answer
from lingxi.knowledge.schemas import KEY_PATTERN, EntryContent, Product, parse_products, products_text

FileFormat = Literal["xlsx", "csv"]

COLUMNS = (
    "key",
    "language",
    "category",
    "intent",
    "standard_question",
    "similar_questions",
    "answer",
    "channels",
    "valid_from",
    "valid_to",
    "products",
)
READ_ONLY_COLUMNS = ("status", "version")
# Optional columns whose absence from a file keeps an updated entry's current value.
KEPT_WHEN_ABSENT = (
    "language",
    "intent",
    "similar_questions",
    "channels",
    "valid_from",
    "valid_to",
    "products",
)
REQUIRED_COLUMNS = ("standard_question", "answer", "category")
COLUMN_ALIASES = {
    "编号": "key",
    "语言": "language",
    "分类": "category",
    "意图": "intent",
    "标准问": "standard_question",
    "标准问题": "standard_question",
    "相似问": "similar_questions",
    "相似问题": "similar_questions",
    "答案": "answer",
    "渠道": "channels",
    "生效日期": "valid_from",
    "失效日期": "valid_to",
    "产品": "products",
    "产品名称": "products",
    "状态": "status",
    "版本": "version",
}
CHANNEL_ALIASES = {
    "网页": "webchat",
    "网页聊天": "webchat",
    "web": "webchat",
    "手机银行": "app",
    "微信": "wechat",
    "短信": "sms",
    "电话": "ivr",
    "语音": "ivr",
}
LANGUAGE_ALIASES = {
    "zh-cn": "zh-CN",
    "zh": "zh-CN",
    "中文": "zh-CN",
    "en": "en",
    "english": "en",
    "英文": "en",
}
MAX_PROBLEMS = 200
MAX_UNCOMPRESSED_BYTES = 50 * 1024 * 1024  # what an .xlsx may expand to
MAX_ARCHIVE_MEMBERS = 500
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class UnsupportedFile(DomainError):
    status_code = 415
    code = "unsupported_file_type"


@dataclass
class Problem:
    row: int | None
    column: str | None
    problem: str
    column_number: int | None = None

    def as_detail(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "column_number": self.column_number,
            "column_letter": column_letter(self.column_number) if self.column_number else None,
            "problem": self.problem,
        }


def column_letter(number: int) -> str:
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# --------------------------------------------------------------------------------------------- reading


def sniff_format(filename: str | None, data: bytes) -> FileFormat:
    """xlsx (a zip archive named .xlsx) or csv (text named .csv); 415 for anything else."""
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        if not data.startswith(b"PK\x03\x04"):
            raise UnsupportedFile(
                "The file is named .xlsx but is not an Excel workbook (save it as .xlsx again)."
            )
        return "xlsx"
    if name.endswith(".csv"):
        if data.startswith(b"PK\x03\x04") or b"\x00" in data[:4096]:
            raise UnsupportedFile(
                "The file is named .csv but is not text; export it from Excel as CSV UTF-8."
            )
        return "csv"
    if name.endswith(".xls"):
        raise UnsupportedFile(
            "Old Excel files (.xls) are not supported; save the sheet as .xlsx and upload again."
        )
    raise UnsupportedFile("Upload an Excel workbook (.xlsx) or a CSV file (.csv).")


def read_rows(data: bytes, file_format: FileFormat) -> list[list[Any]]:
    """All rows of the first sheet (xlsx) or the file (csv), header included, trailing blank rows kept out."""
    rows = list(_xlsx_rows(data) if file_format == "xlsx" else _csv_rows(data))
    while rows and all(_blank(v) for v in rows[-1]):
        rows.pop()
    return rows


def _xlsx_rows(data: bytes) -> Iterator[list[Any]]:
    import openpyxl

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if (
                len(members) > MAX_ARCHIVE_MEMBERS
                or sum(m.file_size for m in members) > MAX_UNCOMPRESSED_BYTES
            ):
                raise TooLarge(
                    "The workbook expands to more than 50 MB; remove other sheets or images and try again.",
                    code="workbook_too_large",
                )
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise UnsupportedFile(
            f"The workbook cannot be read ({type(exc).__name__}); save it as .xlsx again."
        ) from exc
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            return
        for row in sheet.iter_rows(values_only=True):
            yield list(row)
    finally:
        workbook.close()


def _csv_rows(data: bytes) -> Iterator[list[Any]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # gb18030 decodes any byte string, so this is not reached; kept for clarity
        raise UnsupportedFile("The CSV file is neither UTF-8 nor GB18030 text.")
    try:
        yield from csv.reader(io.StringIO(text, newline=""))
    except csv.Error as exc:
        raise ValidationFailed(f"The CSV file is malformed: {exc}.", code="bad_csv") from exc


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    if text.startswith("'") and text[1:2] in _FORMULA_START:  # our own formula escape
        text = text[1:]
    return text.strip()


def _parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _cell_text(value).replace("/", "-").replace(".", "-")
    try:
        return date.fromisoformat(text)
    except ValueError:
        parts = text.split("-")
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            try:
                return date(int(parts[0]), int(parts[1]), int(parts[2]))
            except ValueError:
                pass
        raise ValueError(f"'{text}' is not a date; write YYYY-MM-DD") from None


def _split_lines(value: Any) -> list[str]:
    return [line.strip() for line in _cell_text(value).replace("\r", "\n").split("\n") if line.strip()]


def _split_channels(value: Any) -> list[str]:
    text = _cell_text(value)
    for separator in ("，", "、", ";", "；", " ", "\n"):
        text = text.replace(separator, ",")
    parts = [part.strip().lower() for part in text.split(",") if part.strip()]
    return [CHANNEL_ALIASES.get(part, part) for part in parts]


# --------------------------------------------------------------------------------------------- checking


@dataclass
class ParsedRow:
    row: int
    key: str | None
    content: EntryContent
    entry: KnowledgeEntry | None = None


@dataclass
class Checked:
    rows: list[ParsedRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    data_rows: int = 0


def _header(cells: Sequence[Any]) -> tuple[dict[str, int], list[Problem]]:
    positions: dict[str, int] = {}
    problems: list[Problem] = []
    for number, raw in enumerate(cells, start=1):
        name = _cell_text(raw)
        if not name:
            continue
        canonical = COLUMN_ALIASES.get(name, name.lower().replace(" ", "_"))
        if canonical not in COLUMNS and canonical not in READ_ONLY_COLUMNS:
            problems.append(
                Problem(
                    1, name, f"unknown column; the columns are {', '.join(COLUMNS)}", column_number=number
                )
            )
        elif canonical in positions:
            problems.append(Problem(1, name, "this column appears twice", column_number=number))
        else:
            positions[canonical] = number
    for required in REQUIRED_COLUMNS:
        if required not in positions:
            problems.append(Problem(1, required, "required column is missing"))
    return positions, problems


def _problem(row: int, column: str, positions: dict[str, int], problem: str) -> Problem:
    return Problem(row, column, problem, column_number=positions.get(column))


async def check_rows(*, session: AsyncSession, rows: Sequence[Sequence[Any]], max_rows: int) -> Checked:
    """Validate every data row (content, keys, the state of existing entries); nothing is written."""
    checked = Checked()
    if not rows:
        checked.problems.append(Problem(1, None, "the file is empty; the first row must name the columns"))
        return checked
    positions, problems = _header(rows[0])
    checked.problems.extend(problems)
    if problems:
        return checked
    data = [(n, r) for n, r in enumerate(rows[1:], start=2) if not all(_blank(v) for v in r)]
    checked.data_rows = len(data)
    if len(data) > max_rows:
        raise ValidationFailed(
            f"The file has {len(data)} rows; at most {max_rows} can be imported at once."
            " Split it into smaller files.",
            code="too_many_rows",
            details=[{"row": None, "column": None, "problem": f"{len(data)} rows > {max_rows}"}],
        )
    if not data:
        checked.problems.append(Problem(2, None, "the file has a header but no rows"))
        return checked
    seen_keys: dict[str, int] = {}
    for number, cells in data:
        parsed = _parse_row(number, cells, positions, checked.problems, seen_keys)
        if parsed is not None:
            checked.rows.append(parsed)
        if len(checked.problems) >= MAX_PROBLEMS:
            break
    keys = [p.key for p in checked.rows if p.key]
    existing = {}
    if keys:
        found = (await session.scalars(select(KnowledgeEntry).where(KnowledgeEntry.key.in_(keys)))).all()
        existing = {e.key: e for e in found}
    # A column the file leaves out (an older layout, or a sheet trimmed to what is being edited) keeps
    # the entries' current values; an empty cell in a column that is there clears the value.
    absent = [c for c in KEPT_WHEN_ABSENT if c not in positions]
    heads = (
        await service.list_heads(session=session, entries=list(existing.values()))
        if absent and existing
        else {}
    )
    for parsed in checked.rows:
        entry = existing.get(parsed.key or "")
        if entry is not None:
            parsed.entry = entry
            if entry.id in heads:
                _keep_current(parsed, heads[entry.id], absent, positions, checked.problems)
            if entry.status == "in_review":
                checked.problems.append(
                    _problem(
                        parsed.row,
                        "key",
                        positions,
                        f"entry {entry.key} is waiting for review; reject it first",
                    )
                )
    return checked


def _keep_current(
    parsed: ParsedRow,
    head: KnowledgeVersion,
    absent: Sequence[str],
    positions: dict[str, int],
    problems: list[Problem],
) -> None:
    """Fill the columns the file lacks from the entry's current version, and check the result again
    (a file with valid_from alone must still end before the kept valid_to)."""
    kept: dict[str, Any] = {column: getattr(head, column) for column in absent}
    if "products" in kept:
        kept["products"] = [Product.model_validate(p) for p in kept["products"]]
    merged = {**parsed.content.model_dump(), **kept}
    try:
        parsed.content = EntryContent(**merged)
    except ValidationError as exc:
        for error in exc.errors():
            message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
            column = _column_of(message)
            problems.append(
                _problem(
                    parsed.row, column, positions, f"{message} (with the entry's current {', '.join(absent)})"
                )
            )


def _parse_row(
    number: int,
    cells: Sequence[Any],
    positions: dict[str, int],
    problems: list[Problem],
    seen_keys: dict[str, int],
) -> ParsedRow | None:
    def cell(column: str) -> Any:
        position = positions.get(column)
        return cells[position - 1] if position is not None and position - 1 < len(cells) else None

    before = len(problems)
    values: dict[str, Any] = {}
    key = _cell_text(cell("key")) or None
    if key is not None:
        if not re.fullmatch(KEY_PATTERN, key):
            problems.append(
                _problem(number, "key", positions, "a key is 1–64 letters, digits, '.', '_' or '-'")
            )
        elif key in seen_keys:
            problems.append(_problem(number, "key", positions, f"the same key is on row {seen_keys[key]}"))
        else:
            seen_keys[key] = number
    language = _cell_text(cell("language"))
    if language:
        if language.lower() not in LANGUAGE_ALIASES:
            problems.append(_problem(number, "language", positions, "language must be zh-CN or en"))
        else:
            values["language"] = LANGUAGE_ALIASES[language.lower()]
    for column in ("category", "standard_question", "answer"):
        values[column] = _cell_text(cell(column))
    values["intent"] = _cell_text(cell("intent")) or None
    values["similar_questions"] = _split_lines(cell("similar_questions"))
    values["products"] = parse_products(_cell_text(cell("products")))
    channels = _split_channels(cell("channels"))
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown:
        problems.append(
            _problem(
                number,
                "channels",
                positions,
                f"unknown channel {', '.join(unknown)}; use {', '.join(CHANNELS)}",
            )
        )
    values["channels"] = [c for c in channels if c in CHANNELS]
    for column in ("valid_from", "valid_to"):
        raw = cell(column)
        if not _blank(raw):
            try:
                values[column] = _parse_date(raw)
            except ValueError as exc:
                problems.append(_problem(number, column, positions, str(exc)))
    if values["answer"]:
        answer = service.answer_problem(sanitize_answer(values["answer"]))
        if answer is not None:
            problems.append(_problem(number, "answer", positions, f"answer {answer[1]}"))
    try:
        content = EntryContent(**values)
    except ValidationError as exc:
        for error in exc.errors():
            location = [str(p) for p in error.get("loc", ())]
            column = location[0] if location and location[0] in COLUMNS else _column_of(error.get("msg", ""))
            message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
            problems.append(_problem(number, column, positions, message))
        return None
    if len(problems) > before:
        return None
    return ParsedRow(row=number, key=key, content=content)


def _column_of(message: str) -> str:
    """The column a model-level message is about (valid_from/valid_to order)."""
    return "valid_to" if "valid_from" in message else "standard_question"


# --------------------------------------------------------------------------------------------- importing


@dataclass
class ImportOutcome:
    dry_run: bool
    rows: int
    created: int
    updated: int
    keys: list[str]


async def do_import(
    *,
    session: AsyncSession,
    filename: str | None,
    data: bytes,
    actor: Actor,
    max_rows: int,
    max_bytes: int,
    dry_run: bool = False,
) -> ImportOutcome:
    """Check the whole file, then (unless `dry_run`) write every row as a draft; 422 with every problem."""
    if len(data) > max_bytes:
        raise TooLarge(
            f"The file is {len(data) // 1024} KB; at most {max_bytes // 1024} KB can be imported.",
            code="file_too_large",
        )
    if not data:
        raise ValidationFailed("The uploaded file is empty.", code="empty_file")
    file_format = sniff_format(filename, data)
    checked = await check_rows(session=session, rows=read_rows(data, file_format), max_rows=max_rows)
    if checked.problems:
        problems = sorted(checked.problems, key=lambda p: (p.row or 0, p.column_number or 0))
        raise ValidationFailed(
            f"The file has {len(problems)} problem(s); nothing was imported. Fix them and upload again.",
            code="import_invalid",
            details=[p.as_detail() for p in problems],
        )
    created = updated = 0
    keys: list[str] = []
    for parsed in checked.rows:
        if parsed.entry is not None:
            updated += 1
            keys.append(parsed.entry.key)
            if not dry_run:
                await service.do_save_draft(
                    session=session,
                    entry=parsed.entry,
                    content=parsed.content,
                    expected_revision=parsed.entry.revision,
                    actor=actor,
                )
        else:
            created += 1
            if dry_run:
                keys.append(parsed.key or "(new)")
            else:
                entry = await service.do_create_entry(
                    session=session, content=parsed.content, actor=actor, key=parsed.key
                )
                keys.append(entry.key)
    return ImportOutcome(dry_run=dry_run, rows=checked.data_rows, created=created, updated=updated, keys=keys)


# --------------------------------------------------------------------------------------------- exporting


async def export_rows(*, session: AsyncSession, scope: Literal["published", "all"]) -> list[list[Any]]:
    """Header and one row per entry: its live version (`published`) or its newest version (`all`)."""
    number = KnowledgeEntry.live_number if scope == "published" else KnowledgeEntry.head_number
    stmt = (
        select(KnowledgeEntry.key, KnowledgeVersion)
        .join(
            KnowledgeVersion,
            (KnowledgeVersion.entry_id == KnowledgeEntry.id) & (KnowledgeVersion.number == number),
        )
        .order_by(KnowledgeEntry.id)
    )
    rows: list[list[Any]] = [[*COLUMNS, *READ_ONLY_COLUMNS]]
    for key, version in (await session.execute(stmt)).all():
        rows.append(
            [
                key,
                version.language,
                version.category,
                version.intent or "",
                version.standard_question,
                "\n".join(version.similar_questions),
                version.answer_html,
                ",".join(version.channels),
                version.valid_from.isoformat() if version.valid_from else "",
                version.valid_to.isoformat() if version.valid_to else "",
                products_text(version.products),
                version.status,
                version.number,
            ]
        )
    return rows


def to_csv(rows: Sequence[Sequence[Any]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_escape_formula(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _escape_formula(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_xlsx(rows: Sequence[Sequence[Any]]) -> bytes:
    import openpyxl
    from openpyxl.styles import Alignment, Font

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "faq"
    widths = {"answer": 80, "standard_question": 40, "similar_questions": 40, "products": 30}
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            cell = sheet.cell(row=r, column=c, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # a text starting with "=" stays text, never a formula
            if r == 1:
                cell.font = Font(bold=True)
            else:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    for c, name in enumerate(rows[0] if rows else [], start=1):
        sheet.column_dimensions[column_letter(c)].width = widths.get(str(name), 16)
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
