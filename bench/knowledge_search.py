"""Knowledge search benchmark: index build time and search latency; prints one JSON object.

    python bench/knowledge_search.py [--synthetic 5000] [--queries 1000]

1. ``demo``: the demo knowledge base (47 entries per language), per language: the time to build the
   index (BM25, LSA fit on the questions plus the NLU phrasings, intent profiles, calibration), the
   latency of single searches (p50/p99 over the demo questions and the held-out paraphrases, repeated)
   and the accuracy on the held-out paraphrases (tests/knowledge/data/paraphrases.yaml: top-1, top-3,
   share answered outright and share of those answers that are right): ``accuracy`` as the text alone
   ranks them, ``accuracy_with_products`` with the products the bot recognises in each paraphrase (the
   demo product catalogue) preferred, as the bot searches; ``paraphrases_naming_a_product`` counts them.
2. ``service``: the same through ``lingxi.knowledge.service.search`` on SQLite (demo bank loaded into a
   temporary database): what the bot pays per message, the kb_state stamp check included.
3. ``synthetic``: N generated Chinese entries (6 questions each, built from product × topic × customer
   group, seeded): build time, the rebuild after one entry changed (tokens and intent probabilities of
   the unchanged questions are remembered by the process), and search latency at that size.

``cold`` is what the first build of a process pays extra (loading jieba and the NLU model). Builds run with
one BLAS thread, as in the server. The machine's load average is reported: timings on a busy machine
are upper bounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import yaml  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from lingxi.demo.knowledge import demo_entries  # noqa: E402
from lingxi.knowledge import retrieval  # noqa: E402
from lingxi.knowledge.schemas import product_key  # noqa: E402
from lingxi.knowledge.service import CatalogueProduct, check_content, product_names  # noqa: E402
from lingxi.nlu.entities import extract_entities  # noqa: E402

PARAPHRASES = ROOT / "tests" / "knowledge" / "data" / "paraphrases.yaml"
TODAY = date(2026, 11, 30)

PRODUCTS = (
    "借记卡 信用卡 白金信用卡 现金宝 稳享理财 大额存单 结构性存款 灵犀e贷 住房贷款 经营贷 手机银行 网上银行 "
    "微信银行 外汇业务 自助取款机 积分商城 代发工资 定期存款 基金定投 境外汇款"
).split()
TOPICS = (
    "手续费 办理条件 办理流程 额度 期限 利率 到账时间 注销方法 风险等级 所需材料 优惠活动 使用限制 开通方式 "
    "关闭方式 适用人群 服务时间 安全保障 收费标准 申请进度 常见问题"
).split()
GROUPS = (
    "学生客户 老年客户 外籍客户 小微企业主 VIP客户 新客户 代发工资客户 个体工商户 港澳台客户 退休客户 "
    "私人银行客户 异地客户 军人客户"
).split()
FORMS = (
    "{g}的{p}{t}是怎样的？",
    "{p}{t}（{g}）",
    "{g}办理{p}，{t}怎么算",
    "请问{g}{p}的{t}",
    "{p}对{g}的{t}有什么规定",
    "{g}想了解一下{p}{t}",
)
QUERY_FORMS = ("我是{g}，{p}{t}是多少", "{g}的{p}{t}怎么规定的", "想问下{p}{t}，我是{g}")


def _entry(number: int, key: str, language: str, content: Any) -> retrieval.IndexedEntry:
    clean = check_content(content)
    return retrieval.IndexedEntry(
        entry_id=number,
        key=key,
        version=1,
        language=language,
        category=clean.category,
        intent=clean.intent,
        standard_question=clean.standard_question,
        similar_questions=tuple(clean.similar_questions),
        answer_html=clean.answer_html,
        answer_text=clean.answer_text,
        channels=frozenset(clean.channels),
        valid_from=None,
        valid_to=None,
        products=tuple(frozenset(product_key(n) for n in p.names) for p in content.products),
    )


def demo_catalogue() -> dict[str, str]:
    """The demo product catalogue as the bot sees it: every name and alias → the product."""
    return product_names(
        [
            CatalogueProduct(name=p.name, aliases=tuple(p.aliases), valid_from=None, valid_to=None)
            for _, content in demo_entries()
            for p in content.products
        ]
    )


def demo_indexed(language: str) -> list[retrieval.IndexedEntry]:
    return [
        _entry(n, key, language, content)
        for n, (key, content) in enumerate(demo_entries(), start=1)
        if content.language == language
    ]


def synthetic_indexed(count: int) -> tuple[list[retrieval.IndexedEntry], list[str]]:
    combos = [(p, t, g) for g in GROUPS for p in PRODUCTS for t in TOPICS][:count]
    entries = []
    for n, (p, t, g) in enumerate(combos, start=1):
        questions = [form.format(p=p, t=t, g=g) for form in FORMS]
        entries.append(
            retrieval.IndexedEntry(
                entry_id=n,
                key=f"synthetic-{n}",
                version=1,
                language="zh-CN",
                category=p,
                intent=None,
                standard_question=questions[0],
                similar_questions=tuple(questions[1:]),
                answer_html=f"<p>{g}办理{p}的{t}说明。</p>",
                answer_text=f"{g}办理{p}的{t}说明。",
                channels=frozenset(),
                valid_from=None,
                valid_to=None,
            )
        )
    rng = random.Random(7)
    queries = [
        rng.choice(QUERY_FORMS).format(p=p, t=t, g=g) for p, t, g in rng.sample(combos, min(500, len(combos)))
    ]
    return entries, queries


def build(
    entries: list[retrieval.IndexedEntry], language: str, prior: Any
) -> tuple[retrieval.FaqIndex, float]:
    started = time.perf_counter()
    with threadpool_limits(limits=1):
        index = retrieval.FaqIndex(
            entries, language=language, prior=prior, background=retrieval.background_texts(language)
        )
    return index, time.perf_counter() - started


def latency(index: retrieval.FaqIndex, queries: list[str], total: int) -> dict[str, float]:
    times = []
    for n in range(total):
        query = queries[n % len(queries)]
        started = time.perf_counter()
        index.search(query, channel="webchat", today=TODAY, limit=3)
        times.append((time.perf_counter() - started) * 1000)
    return _percentiles(times)


def accuracy(
    index: retrieval.FaqIndex,
    items: dict[str, list[str]],
    language: str,
    catalogue: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Held-out paraphrases: is the right entry first, among the first three, answered outright? With a
    `catalogue`, the products recognised in each paraphrase are preferred (as the bot searches)."""
    by_key = {e.key: e for e in index.entries}
    total = top1 = top3 = answered = right = 0
    for item, queries in items.items():
        expected = by_key[f"{item}.{language}"]
        channel = min(expected.channels) if expected.channels else "webchat"
        for query in queries:
            products = [
                product_key(str(e.value))
                for e in extract_entities(query, today=TODAY, products=catalogue or {})
                if e.type == "product"
            ]
            result = index.search(query, channel=channel, today=TODAY, limit=3, product_keys=products)
            keys = [hit.key for hit in result.hits]
            total += 1
            top1 += keys[:1] == [expected.key]
            top3 += expected.key in keys
            if result.decision == "answer":
                answered += 1
                right += keys[0] == expected.key
    return {
        "paraphrases": total,
        "top1": round(top1 / max(total, 1), 4),
        "top3": round(top3 / max(total, 1), 4),
        "answered": round(answered / max(total, 1), 4),
        "answers_right": round(right / max(answered, 1), 4),
    }


def _percentiles(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "p50_ms": round(statistics.median(ordered), 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3),
        "searches": len(ordered),
    }


async def service_latency(queries: list[str], total: int) -> dict[str, Any]:
    """service.search on a SQLite copy of the demo bank: stamp check + search, as the bot calls it."""
    from lingxi.core.db import Database, set_database
    from lingxi.demo.loader import load_demo_bank
    from lingxi.knowledge import service
    from lingxi.models import Base
    from lingxi.settings import Settings

    with tempfile.TemporaryDirectory() as folder:
        database = Database(Settings(database_url=f"sqlite+aiosqlite:///{folder}/bench.db"))
        set_database(database)
        async with database.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        await load_demo_bank(today=TODAY, customers=20)  # the demo work orders name C0000001–C0000016
        times = []
        async with database.sessionmaker() as session:
            started = time.perf_counter()
            await service.search(session=session, query=queries[0], language="zh-CN", channel="webchat")
            first = (time.perf_counter() - started) * 1000
            for n in range(total):
                started = time.perf_counter()
                await service.search(
                    session=session, query=queries[n % len(queries)], language="zh-CN", channel="app"
                )
                times.append((time.perf_counter() - started) * 1000)
        await database.dispose()
    return {"first_search_ms (builds the index)": round(first, 1), **_percentiles(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--synthetic", type=int, default=5000, help="synthetic entries (0 = skip)")
    parser.add_argument("--queries", type=int, default=1000, help="searches per measurement")
    args = parser.parse_args()

    result: dict[str, Any] = {
        "benchmark": "knowledge_search",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    started = time.perf_counter()
    prior = retrieval.nlu_prior()
    retrieval.lexical_tokens("预热分词")  # jieba's dictionary
    result["cold_seconds"] = {"nlu_model_and_jieba": round(time.perf_counter() - started, 2)}
    paraphrases = yaml.safe_load(PARAPHRASES.read_text(encoding="utf-8")) if PARAPHRASES.is_file() else {}

    demo: dict[str, Any] = {}
    catalogue = demo_catalogue()
    for language in ("zh-CN", "en"):
        entries = demo_indexed(language)
        index, seconds = build(entries, language, prior)
        queries = [q for e in entries for q in e.questions]
        queries += [q for qs in paraphrases.get(language, {}).values() for q in qs]
        demo[language] = {
            "entries": len(entries),
            "documents": index.stats.documents,
            "build_seconds": round(seconds, 3),
            "build_parts_seconds": index.stats.timings,
            "calibration": index.calibration.describe(),
            "search": latency(index, queries, args.queries),
            "accuracy": accuracy(index, paraphrases.get(language, {}), language),
            "accuracy_with_products": accuracy(index, paraphrases.get(language, {}), language, catalogue),
            "paraphrases_naming_a_product": sum(
                any(e.type == "product" for e in extract_entities(q, today=TODAY, products=catalogue))
                for qs in paraphrases.get(language, {}).values()
                for q in qs
            ),
        }
    result["demo"] = demo
    zh_queries = [q for e in demo_indexed("zh-CN") for q in e.questions]
    result["service"] = asyncio.run(service_latency(zh_queries, args.queries))

    if args.synthetic:
        entries, queries = synthetic_indexed(args.synthetic)
        index, seconds = build(entries, "zh-CN", prior)
        # A publication changes one entry: the next build reuses every other question's tokens and intents.
        changed = entries[0]
        edited = [
            retrieval.IndexedEntry(**{**{f: getattr(changed, f) for f in changed.__slots__}, "version": 2,
                                      "standard_question": changed.standard_question + "（新版）"}),
            *entries[1:],
        ]  # fmt: skip
        rebuilt, rebuild_seconds = build(edited, "zh-CN", prior)
        result["synthetic"] = {
            "entries": len(entries),
            "documents": index.stats.documents,
            "build_seconds": round(seconds, 3),
            "rebuild_after_one_change_seconds": round(rebuild_seconds, 3),
            "rebuild_parts_seconds": rebuilt.stats.timings,
            "build_parts_seconds": index.stats.timings,
            "calibration": index.calibration.describe(),
            "search": latency(index, queries, args.queries),
        }
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
