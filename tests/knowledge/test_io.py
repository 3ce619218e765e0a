"""Import and export as .xlsx and .csv: row/column problems, all-or-nothing, limits, round trips."""

from __future__ import annotations

import csv
import io
from typing import Any

import openpyxl
from sqlalchemy import func, select

from lingxi.knowledge.io import COLUMNS, read_rows
from lingxi.knowledge.models import KnowledgeEntry
from lingxi.settings import get_settings
from tests.auth.helpers import audit_rows, bearer
from tests.knowledge.helpers import act, content, error_code, publish

HEADER = [
    "key",
    "language",
    "category",
    "intent",
    "standard_question",
    "similar_questions",
    "answer",
    "channels",
]
GOOD = [
    [
        "fee.transfer",
        "zh-CN",
        "收费标准",
        "transfer_fee",
        "转账收手续费吗？",
        "跨行转账收费吗\n手机转账要钱吗",
        "<p>手机银行转账<b>免费</b>。</p>",
        "",
    ],
    [
        "",
        "en",
        "Fees",
        "",
        "Is there a fee for ATM withdrawals?",
        "ATM fee",
        "Free at our own ATMs.",
        "app, webchat",
    ],
]


def xlsx(rows: list[list[Any]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[list[Any]], encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


async def upload(api, token, name: str, data: bytes, **params):
    return await api.post(
        "/api/knowledge/import",
        params=params,
        files={"file": (name, data, "application/octet-stream")},
        headers=bearer(token),
    )


async def entry_count(db) -> int:
    async with db.sessionmaker() as s:
        return int(await s.scalar(select(func.count()).select_from(KnowledgeEntry)) or 0)


async def test_import_xlsx_creates_drafts(api, editors, db):
    author, _ = editors
    r = await upload(api, author, "faq.xlsx", xlsx([HEADER, *GOOD]))
    assert r.status_code == 200, r.text
    result = r.json()
    assert (
        result["dry_run"] is False
        and result["rows"] == 2
        and result["created"] == 2
        and result["updated"] == 0
    )
    assert result["entries"][0] == "fee.transfer" and result["entries"][1].startswith("kb-")
    r = await api.get("/api/knowledge/entries", params={"q": "fee.transfer"}, headers=bearer(author))
    [summary] = r.json()["items"]
    detail = (await api.get(f"/api/knowledge/entries/{summary['id']}", headers=bearer(author))).json()
    version = detail["versions"][0]
    assert detail["status"] == "draft" and version["intent"] == "transfer_fee"
    assert version["similar_questions"] == ["跨行转账收费吗", "手机转账要钱吗"]
    assert version["answer_html"] == "<p>手机银行转账<b>免费</b>。</p>"
    english = (
        await api.get("/api/knowledge/entries", params={"language": "en"}, headers=bearer(author))
    ).json()
    assert english["total"] == 1
    [row] = await audit_rows(db, "knowledge.import")
    assert row.after == {"file": "faq.xlsx", "rows": 2, "created": 2, "updated": 0}


async def test_import_updates_the_draft_of_an_existing_key(api, editors):
    author, reviewer = editors
    entry = await publish(api, author, reviewer, key="fee.transfer", **content(category="收费标准"))
    r = await upload(api, author, "faq.csv", csv_bytes([HEADER, GOOD[0]]))
    assert r.status_code == 200 and r.json()["updated"] == 1 and r.json()["created"] == 0
    detail = (await api.get(f"/api/knowledge/entries/{entry['id']}", headers=bearer(author))).json()
    assert detail["head_version"] == 2 and detail["live_version"] == 1 and detail["status"] == "draft"
    assert detail["versions"][0]["standard_question"] == "转账收手续费吗？"
    # While that draft waits for review, the same row is refused with its row and column.
    submitted = (await act(api, author, detail, "submit")).json()
    assert submitted["status"] == "in_review"
    r = await upload(api, author, "faq.csv", csv_bytes([HEADER, GOOD[0]]))
    assert r.status_code == 422 and error_code(r) == "import_invalid"
    [problem] = r.json()["error"]["details"]
    assert problem["row"] == 2 and problem["column"] == "key" and problem["column_letter"] == "A"
    assert "waiting for review" in problem["problem"]


async def test_columns_left_out_keep_the_entry_values(api, editors):
    """A sheet trimmed to the columns being edited changes those only; an empty cell still clears."""
    author, reviewer = editors
    kept = content(
        intent="card_replacement",
        channels=["app", "wechat"],
        similar_questions=["补卡要多久"],
        valid_from="2026-01-01",
        valid_to="2027-12-31",
        language="zh-CN",
    )
    entry = await publish(api, author, reviewer, key="card.kept", **kept)
    trimmed = [
        ["key", "category", "standard_question", "answer"],
        ["card.kept", "银行卡", "补卡多久到？", "约五天。"],
    ]
    r = await upload(api, author, "trimmed.xlsx", xlsx(trimmed))
    assert r.status_code == 200 and r.json()["updated"] == 1, r.text
    detail = (await api.get(f"/api/knowledge/entries/{entry['id']}", headers=bearer(author))).json()
    draft = detail["versions"][0]
    assert draft["standard_question"] == "补卡多久到？" and draft["answer_text"] == "约五天。"
    assert draft["intent"] == "card_replacement" and draft["channels"] == ["app", "wechat"]
    assert draft["similar_questions"] == ["补卡要多久"] and draft["language"] == "zh-CN"
    assert (draft["valid_from"], draft["valid_to"]) == ("2026-01-01", "2027-12-31")
    # A kept date is checked with the new one: a start after the kept end is refused, naming both.
    r = await upload(
        api, author, "from.csv", csv_bytes([[*trimmed[0], "valid_from"], [*trimmed[1], "2028-01-01"]])
    )
    assert r.status_code == 422 and error_code(r) == "import_invalid", r.text
    [problem] = r.json()["error"]["details"]
    assert problem["row"] == 2 and problem["column"] == "valid_to" and "current" in problem["problem"]
    # Columns that are there but empty clear the values.
    r = await upload(
        api, author, "cleared.csv", csv_bytes([[*trimmed[0], "intent", "channels"], [*trimmed[1], "", ""]])
    )
    assert r.status_code == 200, r.text
    detail = (await api.get(f"/api/knowledge/entries/{entry['id']}", headers=bearer(author))).json()
    assert detail["versions"][0]["intent"] is None and detail["versions"][0]["channels"] == []
    assert detail["versions"][0]["similar_questions"] == ["补卡要多久"]


async def test_every_problem_is_reported_and_nothing_is_imported(api, editors, db):
    author, _ = editors
    rows = [
        [*HEADER, "valid_from", "valid_to"],
        [*GOOD[0], "2026-01-01", "2026-12-31"],
        ["", "zh-CN", "账户", "no_such_intent", "怎么开户", "", "<p>带身份证。</p>", "", "", ""],
        ["", "zh-CN", "账户", "", "怎么销户", "", "", "", "", ""],
        ["", "zh-CN", "账户", "", "存款证明", "", "<p>到网点。</p>", "fax", "2026-13-01", "明天"],
        ["", "zh-CN", "账户", "", "x" * 201, "", "<p>过长。</p>", "", "", ""],
        ["", "fr", "", "", "语言错", "", "<script>only()</script>", "", "", ""],
        ["fee.transfer", "zh-CN", "收费标准", "", "重复的编号", "", "<p>重复。</p>", "", "", ""],
        ["", "zh-CN", "账户", "", "日期颠倒", "", "<p>日期。</p>", "", "2026-05-01", "2026/04/01"],
    ]
    r = await upload(api, author, "faq.xlsx", xlsx(rows))
    assert r.status_code == 422 and error_code(r) == "import_invalid"
    problems = {(p["row"], p["column"]): p for p in r.json()["error"]["details"]}
    assert "unknown intent 'no_such_intent'" in problems[(3, "intent")]["problem"]
    assert problems[(3, "intent")]["column_number"] == 4 and problems[(3, "intent")]["column_letter"] == "D"
    assert (4, "answer") in problems  # required field left empty
    assert "unknown channel fax" in problems[(5, "channels")]["problem"]
    assert "is not a date" in problems[(5, "valid_from")]["problem"]
    assert "is not a date" in problems[(5, "valid_to")]["problem"]
    assert "at most 200 characters" in problems[(6, "standard_question")]["problem"]
    assert problems[(7, "language")]["problem"] == "language must be zh-CN or en"
    assert (7, "category") in problems and (7, "answer") in problems
    assert "the same key is on row 2" in problems[(8, "key")]["problem"]
    assert "valid_from must not be after valid_to" in problems[(9, "valid_to")]["problem"]
    assert [p["row"] for p in r.json()["error"]["details"]] == sorted(
        p["row"] for p in r.json()["error"]["details"]
    )
    assert await entry_count(db) == 0  # all or nothing


async def test_bad_headers(api, editors):
    author, _ = editors
    r = await upload(
        api, author, "faq.csv", csv_bytes([["key", "question", "answer", "answer"], ["a", "b", "c", "d"]])
    )
    assert r.status_code == 422
    problems = r.json()["error"]["details"]
    [unknown] = [p for p in problems if p["column"] == "question"]
    assert (unknown["row"], unknown["column_number"], unknown["column_letter"]) == (1, 2, "B")
    assert "unknown column" in unknown["problem"]
    assert any(p["column"] == "answer" and "twice" in p["problem"] for p in problems)
    assert {p["column"] for p in problems if p["problem"] == "required column is missing"} == {
        "standard_question",
        "category",
    }
    r = await upload(api, author, "faq.csv", b"")
    assert r.status_code == 422 and error_code(r) == "empty_file"
    r = await upload(api, author, "faq.csv", csv_bytes([HEADER]))
    assert (
        r.status_code == 422
        and r.json()["error"]["details"][0]["problem"] == "the file has a header but no rows"
    )


async def test_chinese_headers_and_gb18030(api, editors):
    author, _ = editors
    rows = [
        ["标准问", "相似问", "答案", "分类", "语言", "渠道"],
        ["境外取现收费吗", "国外取钱手续费", "每笔12元。", "收费标准", "中文", "短信、微信"],
    ]
    r = await upload(api, author, "旧表.csv", csv_bytes(rows, encoding="gb18030"))
    assert r.status_code == 200, r.text
    entries = (await api.get("/api/knowledge/entries", headers=bearer(author))).json()["items"]
    detail = (await api.get(f"/api/knowledge/entries/{entries[0]['id']}", headers=bearer(author))).json()
    assert detail["versions"][0]["channels"] == ["wechat", "sms"]
    assert detail["versions"][0]["answer_html"] == "<p>每笔12元。</p>"
    r = await upload(
        api,
        author,
        "旧表.csv",
        csv_bytes([["标准问", "答案", "分类", "渠道"], ["a", "b", "c", "短信 传真"]], "gb18030"),
    )
    assert r.status_code == 422 and "unknown channel 传真" in r.json()["error"]["details"][0]["problem"]


async def test_dry_run_checks_without_writing(api, editors, db):
    author, _ = editors
    r = await upload(api, author, "faq.xlsx", xlsx([HEADER, *GOOD]), dry_run="true")
    assert r.status_code == 200 and r.json()["dry_run"] is True and r.json()["created"] == 2
    assert await entry_count(db) == 0
    assert await audit_rows(db, "knowledge.import") == []


async def test_wrong_file_types(api, editors):
    author, _ = editors
    for name, data in (
        ("faq.txt", b"standard_question,answer"),
        ("faq.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1old excel"),
        ("faq.xlsx", b"standard_question,answer,category\n"),
        ("faq.csv", xlsx([HEADER])),
        ("faq.pdf", b"%PDF-1.4"),
    ):
        r = await upload(api, author, name, data)
        assert r.status_code == 415 and error_code(r) == "unsupported_file_type", (name, r.text)
    r = await upload(api, author, "broken.xlsx", b"PK\x03\x04 not really a zip")
    assert r.status_code == 415
    r = await api.post("/api/knowledge/import", json={"rows": []}, headers=bearer(author))
    assert r.status_code == 422 and error_code(r) == "file_required"
    r = await api.post(
        "/api/knowledge/import", files={"upload": ("faq.csv", b"x", "text/csv")}, headers=bearer(author)
    )
    assert r.status_code == 422 and error_code(r) == "file_required"


async def test_size_and_row_limits(api, editors, db, monkeypatch):
    author, _ = editors
    settings = get_settings()
    monkeypatch.setattr(settings, "knowledge_import_max_rows", 3)
    rows = [HEADER, *([["", "zh-CN", "收费", "", f"问题 {n}", "", "答案", ""] for n in range(4)])]
    r = await upload(api, author, "faq.csv", csv_bytes(rows))
    assert r.status_code == 422 and error_code(r) == "too_many_rows"
    assert "at most 3" in r.json()["error"]["message"]
    monkeypatch.setattr(settings, "knowledge_import_max_bytes", 2048)
    big = csv_bytes([HEADER, ["", "zh-CN", "收费", "", "问题", "", "答" * 1000, ""]])
    r = await upload(api, author, "faq.csv", big)
    assert r.status_code == 413 and error_code(r) == "file_too_large"

    # Without a Content-Length (a chunked upload) the route counts the bytes itself.
    async def chunks():
        boundary = b"----lingxi"
        yield (
            b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="faq.csv"\r\n\r\n'
        )
        for _ in range(200):
            yield b"x" * 1024
        yield b"\r\n--" + boundary + b"--\r\n"

    r = await api.post(
        "/api/knowledge/import",
        content=chunks(),
        headers={**bearer(author), "Content-Type": "multipart/form-data; boundary=----lingxi"},
    )
    assert r.status_code == 413 and error_code(r) == "file_too_large"
    assert await entry_count(db) == 0


async def test_xlsx_bomb_is_refused(api, editors):
    author, _ = editors
    buffer = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (60 * 1024 * 1024))
    r = await upload(api, author, "bomb.xlsx", buffer.getvalue())
    assert r.status_code == 413 and error_code(r) == "workbook_too_large"


async def _round_trip(api, author, reviewer, db, file_format: str) -> None:
    tricky = content(
        key="trip.tricky",
        standard_question='=HYPERLINK("http://evil.example")，这也算问题吗？',
        similar_questions=["-1 是什么意思", "@客服 在吗", "普通问法"],
        answer='<p>第一段</p><ul><li>一</li><li><a href="https://bank.example/x">链接</a></li></ul>',
        category="测试",
        intent="transfer_fee",
        channels=["app", "sms"],
        valid_from="2026-01-01",
        valid_to="2030-12-31",
        products=[{"name": "灵犀现金宝 A", "aliases": ["现金宝", "=宝"]}, "-随心贷"],
    )
    first = await publish(api, author, reviewer, **tricky)
    second = await publish(api, author, reviewer, **content(key="trip.plain", language="en", category="Fees"))
    r = await api.get("/api/knowledge/export", params={"format": file_format}, headers=bearer(author))
    assert r.status_code == 200
    assert r.headers["content-disposition"].endswith(f'.{file_format}"')
    rows = read_rows(r.content, file_format)  # type: ignore[arg-type]
    assert list(rows[0])[: len(COLUMNS)] == list(COLUMNS)
    assert [row[0] for row in rows[1:]] == ["trip.tricky", "trip.plain"]
    if file_format == "csv":
        assert r.content.startswith("\ufeff".encode())
        assert "'=HYPERLINK" in r.content.decode("utf-8-sig")  # no formula when opened in Excel
    # Importing the export again gives each entry a draft identical to its published version.
    r = await upload(api, author, f"export.{file_format}", r.content)
    assert r.status_code == 200, r.text
    assert r.json()["updated"] == 2 and r.json()["created"] == 0
    for entry in (first, second):
        detail = (await api.get(f"/api/knowledge/entries/{entry['id']}", headers=bearer(author))).json()
        draft, published = detail["versions"]
        assert draft["status"] == "draft" and published["status"] == "published"
        for field in (
            "standard_question",
            "similar_questions",
            "answer_html",
            "answer_text",
            "category",
            "intent",
            "channels",
            "valid_from",
            "valid_to",
            "language",
            "products",
        ):
            assert draft[field] == published[field], (file_format, field)
    [row] = await audit_rows(db, "knowledge.export")
    assert row.after == {"format": file_format, "scope": "published", "entries": 2}


async def test_xlsx_round_trip(api, editors, db):
    await _round_trip(api, *editors, db, "xlsx")


async def test_csv_round_trip(api, editors, db):
    await _round_trip(api, *editors, db, "csv")


async def test_export_scopes(api, editors):
    author, reviewer = editors
    await publish(api, author, reviewer, key="live.one")
    await api.post("/api/knowledge/entries", json={**content(), "key": "draft.one"}, headers=bearer(author))
    published = read_rows(
        (await api.get("/api/knowledge/export", params={"format": "csv"}, headers=bearer(author))).content,
        "csv",
    )
    everything = read_rows(
        (
            await api.get(
                "/api/knowledge/export", params={"format": "csv", "scope": "all"}, headers=bearer(author)
            )
        ).content,
        "csv",
    )
    assert [r[0] for r in published[1:]] == ["live.one"]
    assert [(r[0], r[-2]) for r in everything[1:]] == [("live.one", "published"), ("draft.one", "draft")]
    r = await api.get("/api/knowledge/export", params={"format": "pdf"}, headers=bearer(author))
    assert r.status_code == 422
