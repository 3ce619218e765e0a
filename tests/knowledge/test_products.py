"""Products of FAQ entries: validation, versions, import/export, the catalogue the bot's entity extractor
uses (refreshed by a publication, without a restart) and the retrieval preference for their entries."""

from __future__ import annotations

from datetime import date

from lingxi.knowledge import retrieval, service
from lingxi.knowledge.retrieval import IndexedEntry
from lingxi.knowledge.schemas import parse_products, products_text
from lingxi.knowledge.service import CatalogueProduct, product_names
from tests.auth.helpers import audit_rows, bearer
from tests.knowledge.helpers import act, content, create, error_code, publish
from tests.knowledge.test_io import csv_bytes, upload, xlsx

CASH = {"name": "灵犀现金宝 A", "aliases": ["现金宝", "Cash Treasure"]}
CASH_ENTRY = {
    "standard_question": "灵犀现金宝 A 赎回多久到账？",
    "similar_questions": ["现金宝的钱什么时候能到卡上", "现金宝快速赎回额度"],
    "answer": "<p>快速赎回每日 1 万元以内实时到账，普通赎回 T+1 个工作日到账。</p>",
    "category": "存款与理财",
    "products": [CASH],
}
TRANSFER_TIME = {
    "standard_question": "转账多久能到账？",
    "similar_questions": ["跨行转账几点到账", "转出去的钱什么时候到"],
    "answer": "<p>行内转账实时到账，跨行转账一般 2 小时内到账。</p>",
    "category": "转账汇款",
}


async def test_products_are_cleaned_and_kept_with_the_version(api, editors, db):
    author, reviewer = editors
    entry = await create(
        api,
        author,
        products=[
            "  灵犀  金卡 ",  # a plain string is a name without aliases
            {"name": "灵犀现金宝 A", "aliases": [" 现金宝 ", "", "现金宝", "灵犀现金宝A"]},
            {"name": "灵犀金卡"},  # the same product again (spaces and case do not count)
            {"name": "随心贷", "aliases": ["随心贷款", "灵犀金卡"]},  # an alias that names another product
        ],
    )
    assert entry["versions"][0]["products"] == [
        {"name": "灵犀 金卡", "aliases": []},
        {"name": "灵犀现金宝 A", "aliases": ["现金宝"]},
        {"name": "随心贷", "aliases": ["随心贷款"]},
    ]
    [created] = await audit_rows(db, "knowledge.create")
    assert created.after["products"] == "灵犀 金卡; 灵犀现金宝 A / 现金宝; 随心贷 / 随心贷款"

    # Published, then edited: the new draft version has its own products; the live one keeps the old.
    submitted = (await act(api, author, entry, "submit")).json()
    published = (await act(api, reviewer, submitted, "approve")).json()
    body = {**content(products=["灵犀金卡"]), "revision": published["revision"]}
    r = await api.put(f"/api/knowledge/entries/{entry['id']}/draft", json=body, headers=bearer(author))
    assert r.status_code == 200, r.text
    draft, live = r.json()["versions"]
    assert draft["products"] == [{"name": "灵犀金卡", "aliases": []}] and len(live["products"]) == 3
    edit = (await audit_rows(db, "knowledge.edit"))[-1]
    assert edit.after["version"] == 2 and edit.after["products"] == "灵犀金卡"


async def test_invalid_products_are_422_with_the_place(api, editors):
    author, _ = editors
    cases = [
        ({"products": [""]}, "products.0.name", "blank"),
        ({"products": ["   "]}, "products.0.name", "blank"),
        ({"products": ["灵" * 41]}, "products.0.name", "longer than 40"),
        ({"products": ["贷"]}, "products.0.name", "too short"),
        ({"products": ["现金宝/活期宝"]}, "products.0.name", "may not contain"),
        (
            {"products": [{"name": "随心贷", "aliases": ["随心;贷款"]}]},
            "products.0.aliases",
            "may not contain",
        ),
        ({"products": [{"name": "随心贷", "aliases": ["x" * 41]}]}, "products.0.aliases", "longer than 40"),
        ({"products": [f"产品{n:02d}" for n in range(21)]}, "products", "at most 20"),
        (
            {"products": [{"name": "随心贷", "aliases": [f"别名{n}" for n in range(11)]}]},
            "products.0.aliases",
            "",
        ),
        ({"products": [{"name": "随心贷", "other": 1}]}, "products.0.other", ""),
        ({"products": "灵犀金卡"}, "products", ""),
    ]
    for overrides, field, words in cases:
        r = await api.post("/api/knowledge/entries", json=content(**overrides), headers=bearer(author))
        assert r.status_code == 422, (overrides, r.text)
        assert error_code(r) == "validation_failed"
        details = r.json()["error"]["details"]
        assert any(d["field"] == field and words in d["problem"] for d in details), (field, details)


def test_text_form_of_products():
    text = "灵犀现金宝 A / 现金宝 ／ Cash Treasure\n随心贷；灵犀 e 贷/e贷\n\n / \n"
    products = parse_products(text)
    assert products == [
        {"name": "灵犀现金宝 A", "aliases": ["现金宝", "Cash Treasure"]},
        {"name": "随心贷", "aliases": []},
        {"name": "灵犀 e 贷", "aliases": ["e贷"]},
    ]
    assert parse_products(products_text(products)) == products
    assert (
        products_text(products, separator="; ")
        == "灵犀现金宝 A / 现金宝 / Cash Treasure; 随心贷; 灵犀 e 贷 / e贷"
    )


HEADER = ["key", "category", "standard_question", "answer"]


async def test_import_reads_the_products_column_and_reports_its_problems(api, editors):
    author, _ = editors
    rows = [
        [*HEADER, "产品"],
        ["p.one", "理财", "现金宝怎么赎回？", "在APP赎回。", "灵犀现金宝 A / 现金宝\n灵犀 e 贷 / e贷"],
        ["p.two", "理财", "稳享理财是什么？", "一款理财产品。", "灵犀稳享 90 天持有期；稳享理财"],
        ["p.bad", "理财", "什么理财好？", "看风险偏好。", "贷"],
    ]
    r = await upload(api, author, "faq.xlsx", xlsx(rows))
    assert r.status_code == 422 and error_code(r) == "import_invalid"
    [problem] = r.json()["error"]["details"]
    assert problem["row"] == 4 and problem["column"] == "products" and problem["column_letter"] == "E"
    assert "too short" in problem["problem"]
    r = await upload(api, author, "faq.csv", csv_bytes(rows[:3]))
    assert r.status_code == 200, r.text
    found = (await api.get("/api/knowledge/entries", params={"q": "p.one"}, headers=bearer(author))).json()
    detail = (
        await api.get(f"/api/knowledge/entries/{found['items'][0]['id']}", headers=bearer(author))
    ).json()
    assert detail["versions"][0]["products"] == [
        {"name": "灵犀现金宝 A", "aliases": ["现金宝"]},
        {"name": "灵犀 e 贷", "aliases": ["e贷"]},
    ]


async def test_a_file_without_the_products_column_keeps_the_products(api, editors):
    """Templates made before the column existed still import: new entries have no products, and the
    entries they update keep theirs (an absent column is not an empty one)."""
    author, reviewer = editors
    entry = await publish(api, author, reviewer, key="kept", **content(products=[CASH]))
    rows = [
        HEADER,
        ["kept", "理财", "现金宝几点到账？", "实时到账。"],
        ["new.one", "理财", "理财怎么买？", "在APP购买。"],
    ]
    r = await upload(api, author, "old.csv", csv_bytes(rows))
    assert r.status_code == 200 and r.json()["updated"] == 1 and r.json()["created"] == 1, r.text
    detail = (await api.get(f"/api/knowledge/entries/{entry['id']}", headers=bearer(author))).json()
    draft = detail["versions"][0]
    assert draft["standard_question"] == "现金宝几点到账？" and draft["products"] == [CASH]
    # A file with the column but an empty cell does clear them.
    r = await upload(api, author, "new.csv", csv_bytes([[*HEADER, "products"], [*rows[1], ""]]))
    assert r.status_code == 200, r.text
    detail = (await api.get(f"/api/knowledge/entries/{entry['id']}", headers=bearer(author))).json()
    assert detail["versions"][0]["products"] == []


async def test_export_writes_products_that_import_again(api, editors):
    author, reviewer = editors
    products = [CASH, {"name": "随心贷", "aliases": []}]
    entry = await publish(api, author, reviewer, key="p.trip", **content(products=products))
    for file_format in ("xlsx", "csv"):
        r = await api.get("/api/knowledge/export", params={"format": file_format}, headers=bearer(author))
        r = await upload(api, author, f"export.{file_format}", r.content)
        assert r.status_code == 200, r.text
        detail = (await api.get(f"/api/knowledge/entries/{entry['id']}", headers=bearer(author))).json()
        assert detail["versions"][0]["products"] == products, file_format


# --------------------------------------------------------------------------------------------- catalogue


def test_catalogue_names_map_aliases_to_their_product():
    products = [
        CatalogueProduct("灵犀现金宝 A", ("现金宝", "宝宝"), None, None),
        CatalogueProduct("灵犀白金卡", ("白金卡",), None, None),
        CatalogueProduct("灵犀白金信用卡", ("白金卡", "白金信用卡"), None, None),  # 白金卡 is ambiguous
        CatalogueProduct("宝宝", (), None, None),  # a product's own name wins over another's alias
        CatalogueProduct("灵犀现金宝A", ("活钱",), None, None),  # the same product spelled otherwise
    ]
    assert product_names(products) == {
        "灵犀现金宝 A": "灵犀现金宝 A",
        "灵犀白金卡": "灵犀白金卡",
        "灵犀白金信用卡": "灵犀白金信用卡",
        "宝宝": "宝宝",
        "现金宝": "灵犀现金宝 A",
        "白金信用卡": "灵犀白金信用卡",
        "活钱": "灵犀现金宝 A",
    }


async def _catalogue(db) -> dict[str, str]:
    async with db.sessionmaker() as s:
        return await service.get_product_names(session=s)


async def test_the_catalogue_follows_publications_without_a_restart(api, editors, db, monkeypatch):
    author, reviewer = editors
    monkeypatch.setattr(service, "bank_today", lambda: date(2026, 12, 1))
    cache = service.get_product_cache()
    await publish(api, author, reviewer, **content(**CASH_ENTRY))
    assert await _catalogue(db) == {
        "灵犀现金宝 A": "灵犀现金宝 A",
        "现金宝": "灵犀现金宝 A",
        "Cash Treasure": "灵犀现金宝 A",
    }
    loads = cache.loads
    await _catalogue(db)
    assert cache.loads == loads  # read again only when the knowledge revision moved

    # A draft and an entry in review are not in it; the publication is, at the next read.
    draft = await create(api, author, products=["薪享理财30天"], valid_to="2026-12-31")
    assert "薪享理财30天" not in await _catalogue(db)
    submitted = (await act(api, author, draft, "submit")).json()
    assert "薪享理财30天" not in await _catalogue(db)
    published = (await act(api, reviewer, submitted, "approve")).json()
    assert (await _catalogue(db))["薪享理财30天"] == "薪享理财30天" and cache.loads == loads + 1

    # Validity is applied per day; a withdrawal takes the product out.
    monkeypatch.setattr(service, "bank_today", lambda: date(2027, 1, 1))
    assert "薪享理财30天" not in await _catalogue(db) and "现金宝" in await _catalogue(db)
    monkeypatch.setattr(service, "bank_today", lambda: date(2026, 12, 1))
    r = await act(api, reviewer, published, "withdraw", reason="产品停售")
    assert r.status_code == 200
    assert "薪享理财30天" not in await _catalogue(db)


async def test_search_recognises_products_and_prefers_their_entries(api, editors):
    author, reviewer = editors
    await publish(api, author, reviewer, **content(**CASH_ENTRY))
    transfer = await publish(api, author, reviewer, **content(**TRANSFER_TIME))
    r = await api.get("/api/knowledge/search", params={"q": "现金宝多久到账"}, headers=bearer(author))
    result = r.json()
    assert result["products"] == ["灵犀现金宝 A"]
    top, second = result["hits"][:2]
    assert top["standard_question"] == CASH_ENTRY["standard_question"] and top["product_match"] is True
    assert second["entry_id"] == transfer["id"] and second["product_match"] is False
    # The same question naming no product: the entries are ranked by their text alone.
    plain = (await api.get("/api/knowledge/search", params={"q": "多久到账"}, headers=bearer(author))).json()
    assert plain["products"] == [] and not any(h["product_match"] for h in plain["hits"])


def _entry(n: int, question: str, *products: tuple[str, ...]) -> IndexedEntry:
    return IndexedEntry(
        entry_id=n,
        key=f"e{n}",
        version=1,
        language="zh-CN",
        category="测试",
        intent=None,
        standard_question=question,
        similar_questions=(),
        answer_html="<p>答</p>",
        answer_text="答",
        channels=frozenset(),
        valid_from=None,
        valid_to=None,
        products=tuple(frozenset(names) for names in products),
    )


def test_the_boost_is_the_share_of_the_entry_about_the_named_products():
    index = retrieval.FaqIndex(
        [
            _entry(1, "现金宝能随时取出来吗", ("灵犀现金宝a", "现金宝")),
            _entry(2, "有哪些理财产品", ("灵犀现金宝a", "现金宝"), ("稳享",), ("安鑫",), ("固收+",)),
            _entry(3, "大额取现要预约吗"),
        ],
        language="zh-CN",
        calibrate=False,
    )
    assert index.about(["现金宝"]).tolist() == [1.0, 0.25, 0.0]
    assert index.about(["现金宝", "稳享"]).tolist() == [1.0, 0.5, 0.0]
    assert index.about(["no such product"]).tolist() == [0.0, 0.0, 0.0]
    today = date(2026, 12, 1)
    plain = index.search("现金宝取钱", channel=None, today=today)
    boosted = index.search("现金宝取钱", channel=None, today=today, product_keys=["现金宝"])
    scores = {h.entry_id: h.score for h in plain.hits}
    lifted = {h.entry_id: h.score for h in boosted.hits}
    assert lifted[1] > scores[1] and lifted[2] > scores[2] and lifted[3] == scores[3]
    assert lifted[1] - scores[1] > lifted[2] - scores[2]  # the entry about 现金宝 alone gains most
    assert [h.product_match for h in boosted.hits if h.entry_id == 3] == [False]
