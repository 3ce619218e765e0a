"""Text normalisation and tokenisation for Chinese (first) and English.

`normalize` maps full-width forms to half-width, traditional Chinese characters to simplified ones
(common characters), lower-cases, and folds every digit run to a placeholder length class, so that
"转账5000元", "轉賬５０００元" and "转账8000元" share their features.

`word_tokens` segments Chinese runs with jieba and splits Latin text on word boundaries; `char_ngrams`
gives character 1–3-grams inside Chinese runs and padded 2–5-grams inside Latin words. Both are plain
module-level functions so that fitted vectorizers pickle.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
import unicodedata
from functools import lru_cache

from lingxi.nlu._zh_tables import SIMPLIFIED, TRADITIONAL

_T2S = str.maketrans(TRADITIONAL, SIMPLIFIED)

# Full-width ASCII variants (U+FF01–U+FF5E) → ASCII; the ideographic space → space.
_FULL_TO_HALF = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FULL_TO_HALF[0x3000] = 0x20
# Chinese punctuation that carries no intent information → ASCII equivalents.
_PUNCT = str.maketrans(
    {
        "，": ",",
        "。": ".",
        "、": ",",
        "；": ";",
        "：": ":",
        "？": "?",
        "！": "!",
        "“": '"',
        "”": '"',
        "‘": "'",
        "’": "'",
        "（": "(",
        "）": ")",
        "【": "[",
        "】": "]",
        "《": "<",
        "》": ">",
        "…": ".",
        "—": "-",
        "～": "~",
    }
)
_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")
_SPACES = re.compile(r"\s+")
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# A run of CJK characters, or a Latin/digit word (apostrophes inside words kept: "didn't").
_RUNS = re.compile(rf"([{_CJK}]+)|([a-z0-9#]+(?:'[a-z]+)?)")


def _digit_class(match: re.Match[str]) -> str:
    """Digit runs become '#', '##', '###' or '####' by length, keeping magnitude but not value."""
    digits = sum(ch.isdigit() for ch in match.group(0))
    return "#" * min(digits, 4)


def to_half_width(text: str) -> str:
    return text.translate(_FULL_TO_HALF)


def to_simplified(text: str) -> str:
    """Traditional → simplified for common characters, one character at a time."""
    return text.translate(_T2S)


@lru_cache(maxsize=4096)
def normalize(text: str) -> str:
    """The canonical form every encoder sees (see module docstring)."""
    text = unicodedata.normalize("NFKC", text)  # also folds full-width forms and compatibility ideographs
    text = to_half_width(text).translate(_PUNCT)
    text = to_simplified(text).lower()
    text = _DIGITS.sub(_digit_class, text)
    return _SPACES.sub(" ", text).strip()


_jieba_lock = threading.Lock()
_jieba_ready = False


def _jieba():  # type: ignore[no-untyped-def]
    global _jieba_ready
    import jieba

    if not _jieba_ready:
        with _jieba_lock:
            if not _jieba_ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba_ready = True
    return jieba


def is_cjk(ch: str) -> bool:
    return bool(re.match(f"[{_CJK}]", ch))


def word_tokens(text: str) -> list[str]:
    """Words of a normalised text: jieba for Chinese runs, word boundaries for Latin text."""
    tokens: list[str] = []
    for match in _RUNS.finditer(text):
        cjk, latin = match.groups()
        if cjk:
            tokens.extend(w for w in _jieba().lcut(cjk, HMM=True) if w.strip())
        else:
            tokens.append(latin)
    return tokens


def word_ngrams(text: str) -> list[str]:
    """Word unigrams and bigrams (analyzer for a TfidfVectorizer over normalised text)."""
    tokens = word_tokens(text)
    return tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]


def char_ngrams(text: str) -> list[str]:
    """Character 1–3-grams of Chinese runs, padded 2–5-grams of Latin words."""
    grams: list[str] = []
    for match in _RUNS.finditer(text):
        cjk, latin = match.groups()
        if cjk:
            for n in (1, 2, 3):
                grams.extend(cjk[i : i + n] for i in range(len(cjk) - n + 1))
        else:
            word = f" {latin} "
            for n in (2, 3, 4, 5):
                grams.extend(word[i : i + n] for i in range(len(word) - n + 1))
    return grams
