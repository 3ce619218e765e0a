"""How alike two short texts are, for the duplicate guard and hot-issue detection.

Character bigrams inside Chinese runs and whole words in Latin text, compared with the Dice
coefficient: cheap, needs no model, and robust to the word order and filler that separate two
customers describing the same problem ("转账没到账" / "我昨天的转账一直没有到账").
"""

from __future__ import annotations

import re

from lingxi.nlu import normalize

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z0-9#]+")
# Words that say nothing about the problem itself.
_STOP = frozenset({"the", "a", "an", "my", "i", "is", "to", "and", "of", "in", "it", "was", "for", "on"})
_STOP_BIGRAMS = frozenset({"我的", "一下", "请问", "您好", "你好", "麻烦", "谢谢", "什么", "怎么"})


def features(text: str) -> frozenset[str]:
    normalized = normalize(text or "")
    grams: set[str] = set()
    for run in _CJK.findall(normalized):
        if len(run) == 1:
            grams.add(run)
        grams.update(run[i : i + 2] for i in range(len(run) - 1))
    grams.update(w for w in _WORD.findall(normalized) if w not in _STOP)
    return frozenset(grams - _STOP_BIGRAMS)


def dice(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


def similarity(a: str, b: str) -> float:
    return dice(features(a), features(b))
