"""FAQ retrieval: lexical BM25, a dense semantic similarity and an intent prior, combined into one score.

Pure Python + numpy/scipy/scikit-learn; nothing leaves the process. An index covers the published versions
of one language; channels and validity dates are filtered at query time, so an answer expires at midnight
without a rebuild.

Every question of an entry (its standard question and each similar question) is a document. Texts are
normalised (`lingxi.nlu.text.normalize`: traditional → simplified, full-width → half-width, lower case,
digits folded) and banking synonyms are read as one word (data/synonyms.yaml: 储蓄卡 → 借记卡, 国外 → 境外,
cash machine → atm …). For a query, per entry:

- **lexical** — BM25 (k1 = 1.2, b = 0.5: questions are short) over jieba words plus character bigrams in
  Chinese, stemmed words in English, function words removed. The best question's score is divided by the
  query's own IDF mass (an unknown word counts as an average one): roughly "the share of what the query
  says that the entry's closest question also says", clipped to [0, 1].
- **semantic** — LSA: sublinear TF-IDF of character n-grams and words reduced by a truncated SVD (≤ 200
  dimensions) fitted on the knowledge base's questions plus the NLU demo training phrasings of the language,
  each alone and all phrasings of an intent together (so that words customers use for the same thing
  co-occur: 储蓄卡/借记卡, 取钱/取款). The signal is the cosine between the query and the centroid of the
  entry's questions: a paraphrase is rarely close to one question but is close to what they share.
- **intent prior** — the NLU model's calibrated intent probabilities for the query (the model the bot
  uses: LINGXI_NLU_MODEL, by default the shipped demo model),
  dotted with the entry's intent profile: the mean of its questions' probabilities, averaged half and half
  with its declared intent when it has one. An entry without an intent whose questions read as
  `annual_fee` agrees with an annual-fee query as much as the annual-fee entry does; words decide then.

The score is `sigmoid(w · [lexical, semantic, intent_prior] + b)`, a calibrated probability that the entry
answers the query. It is fitted when the index is built, on leave-one-out queries (each question with a
sibling is asked without itself; its entry is right, the 10 entries most like it by any signal are wrong):
the weights by a conditional logit over each query's candidates (what ranks the right entry first), then
the scale and intercept by Platt scaling of that utility on right/wrong candidates (what makes the number
a probability). A base with fewer than MIN_CALIBRATION_QUERIES such questions, or a fit with a
non-positive weight, uses DEFAULT_CALIBRATION (the fit on the demo knowledge base, rounded).

Products: an entry may name the products it is about (each with its names and aliases, compared as
`schemas.product_key`). When the caller recognised products in the message (the bot's entity extractor
with the product catalogue), an entry about them gets PRODUCT_BOOST × the share of its products the
message names added to its utility before the sigmoid: "现金宝能马上取出来吗" prefers the 现金宝 entry
over the large-withdrawal one, and the entry about 现金宝 alone over the overview of four products.

Decision: `answer` when the query is one of the entry's questions (after normalisation and synonyms), or
when the top score ≥ ANSWER_THRESHOLD and leads the second by ≥ ANSWER_MARGIN;
`suggest` (offer the top three, "您是想问：…") when the top score ≥ SUGGEST_THRESHOLD; else `none`.
The thresholds were chosen on held-out NLU evaluation phrasings (docs/knowledge.md).
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from scipy import sparse

from lingxi.nlu.text import char_ngrams, normalize, word_tokens

log = logging.getLogger("lingxi.knowledge.retrieval")

Decision = Literal["answer", "suggest", "none"]

ANSWER_THRESHOLD = 0.6
ANSWER_MARGIN = 0.2
SUGGEST_THRESHOLD = 0.2
SUGGESTIONS = 3
# Added to the utility (log-odds) of the entries about a product the message names; measured on the
# held-out paraphrases (docs/knowledge.md): it reorders near neighbours, it does not outvote the text.
PRODUCT_BOOST = 1.0

BM25_K1 = 1.2
BM25_B = 0.5
SVD_COMPONENTS = 200
DECLARED_INTENT_WEIGHT = 0.5
MIN_CALIBRATION_QUERIES = 40
MAX_CALIBRATION_QUERIES = 600  # a seeded sample beyond this: plenty for three weights
CALIBRATION_CANDIDATES = 10
RANKING_RIDGE = 0.01
SVD_FIT_ROWS = 12_000  # the SVD of a larger base is fitted on a seeded sample (all rows are projected)
TOKEN_CACHE = 65_536  # texts whose tokens and intent probabilities a process remembers between rebuilds

FEATURES = ("lexical", "semantic", "intent_prior")


@dataclass(frozen=True, slots=True)
class Calibration:
    """score = sigmoid(weights · features + intercept); `source` says where the weights come from."""

    weights: tuple[float, float, float]
    intercept: float
    source: Literal["fitted", "default"]
    queries: int = 0
    note: str = ""  # why the default is used

    def score(self, features: np.ndarray, *, boost: np.ndarray | float = 0.0) -> np.ndarray:
        """Probabilities; `boost` is added to the utility (per row: the product boost)."""
        z = features @ np.asarray(self.weights) + self.intercept + boost
        return 1.0 / (1.0 + np.exp(-z))

    def describe(self) -> dict[str, Any]:
        return {
            "weights": dict(zip(FEATURES, (round(w, 3) for w in self.weights), strict=True)),
            "intercept": round(self.intercept, 3),
            "source": self.source,
            "queries": self.queries,
            **({"note": self.note} if self.note else {}),
        }


# The fits on the demo knowledge base (zh-CN and en averaged, rounded): used for small bases.
DEFAULT_CALIBRATION = Calibration(weights=(2.7, 7.3, 3.5), intercept=-6.1, source="default")


# --------------------------------------------------------------------------------------------- documents


@dataclass(frozen=True, slots=True)
class IndexedEntry:
    """One published version as the index sees it."""

    entry_id: int
    key: str
    version: int
    language: str
    category: str
    intent: str | None
    standard_question: str
    similar_questions: tuple[str, ...]
    answer_html: str
    answer_text: str
    channels: frozenset[str]  # empty = every channel
    valid_from: date | None
    valid_to: date | None
    products: tuple[frozenset[str], ...] = ()  # per product: the keys of its name and aliases

    @property
    def questions(self) -> tuple[str, ...]:
        return (self.standard_question, *self.similar_questions)

    def serves(self, channel: str | None, today: date) -> bool:
        if channel and self.channels and channel not in self.channels:
            return False
        if self.valid_from and today < self.valid_from:
            return False
        return not (self.valid_to and today > self.valid_to)


@dataclass(frozen=True, slots=True)
class Hit:
    """An entry found for a query, with its calibrated score and the three signals behind it."""

    entry_id: int
    key: str
    version: int
    language: str
    category: str
    intent: str | None
    standard_question: str
    matched_question: str  # the entry's question closest to the query
    answer_html: str  # sanitised rich text (web chat, app)
    answer_text: str  # plain text (WeChat, SMS, IVR)
    score: float  # calibrated probability that this entry answers the query, 0..1
    lexical: float
    semantic: float
    intent_prior: float
    product_match: bool = False  # the entry is about a product the query names (boosted)

    def answer_for(self, channel: str) -> str:
        """The rich answer for web chat and the app, the plain text for every other channel."""
        return self.answer_html if channel in RICH_CHANNELS else self.answer_text


RICH_CHANNELS = frozenset({"webchat", "app"})


@dataclass(frozen=True, slots=True)
class SearchResult:
    decision: Decision
    hits: tuple[Hit, ...]  # best first; `answer`: hits[0] is the answer; `suggest`: offer them
    query: str
    language: str
    channel: str
    revision: int  # the knowledge revision the index was built from

    @property
    def top(self) -> Hit | None:
        return self.hits[0] if self.hits else None


# --------------------------------------------------------------------------------------------- tokens

_ZH_STOP = frozenset(
    "的 了 吗 呢 吧 啊 呀 哦 嘛 么 我 你 您 他 她 我们 你们 是 在 有 就 都 也 还 和 跟 与 或 要 想 请 请问 "
    "一下 下 个 这 那 这个 那个 怎么 怎样 如何 什么 咋 为什么 哪 哪里 多少 能 能不能 可以 可不可以 会 "
    "会不会 吗 么 一个 一张 一些 现在 时候 好 好的 谢谢 你好 您好 麻烦 帮 帮我 给 让 把 被 对 到 从 "
    "里 上 中 后 前 又 再 已经 一直 没有 没 不 不是 呢 啦 咯 嗯".split()
)
_EN_STOP = frozenset(
    "a an the i me my mine you your yours we our us he she it its they them their is are was were be been "
    "being am do does did doing have has had having can could will would should shall may might must to "
    "of in on at for from by with about as into over after before up down out off than then so too very "
    "just and or but if not no yes please hi hello thanks thank what which who whom whose when where why "
    "how this that these those there here any some get got getting want wanted need like know tell let "
    "s t ll ve re d m".split()
)
# (suffix, replacement), longest first: "activation" → "activate", then the final "e" goes.
_EN_SUFFIXES = (
    ("ational", "ate"),
    ("ations", "ate"),
    ("ation", "ate"),
    ("ments", ""),
    ("ment", ""),
    ("ings", ""),
    ("ing", ""),
    ("ies", "y"),
    ("ied", "y"),
    ("ers", ""),
    ("er", ""),
    ("ed", ""),
    ("es", ""),
    ("ly", ""),
    ("s", ""),
)
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


@lru_cache(maxsize=8192)
def _stem(word: str) -> str:
    """A light English stemmer: "activate", "activating", "activated" and "activation" all give "activat"."""
    if len(word) <= 4 or not word.isalpha():
        return word
    for suffix, replacement in _EN_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + replacement
            break
    return word.rstrip("e") if len(word) > 4 else word


SYNONYMS_FILE = Path(__file__).resolve().parent / "data" / "synonyms.yaml"


@lru_cache(maxsize=1)
def _synonym_table() -> tuple[re.Pattern[str] | None, dict[str, str]]:
    """One regex over every variant (longest first; English variants as whole words) → canonical."""
    data = yaml.safe_load(SYNONYMS_FILE.read_text(encoding="utf-8")) or {}
    canonical: dict[str, str] = {}
    for table in data.values():
        for word, variants in (table or {}).items():
            for variant in variants or ():
                canonical[normalize(str(variant))] = normalize(str(word))
    if not canonical:
        return None, {}
    parts = []
    for variant in sorted(canonical, key=len, reverse=True):
        escaped = re.escape(variant)
        # Latin variants as whole words: no Latin letter or digit on either side (CJK may touch them).
        parts.append(escaped if _CJK_RUN.match(variant) else rf"(?<![a-z0-9]){escaped}(?![a-z0-9])")
    return re.compile("|".join(parts)), canonical


@lru_cache(maxsize=16384)
def canonical_text(text: str) -> str:
    """The normalised text with banking synonyms replaced by their canonical word (data/synonyms.yaml)."""
    normalized = normalize(text)
    pattern, canonical = _synonym_table()
    if pattern is None:
        return normalized
    return pattern.sub(lambda m: canonical[m.group(0)], normalized)


@lru_cache(maxsize=TOKEN_CACHE)
def lexical_tokens(text: str) -> tuple[str, ...]:
    """BM25 tokens of a text: words (Chinese by jieba, English stemmed) and Chinese character bigrams.
    Cached: a rebuild after one publication re-tokenises only the questions that changed."""
    normalized = canonical_text(text)
    tokens: list[str] = []
    for word in word_tokens(normalized):
        if _CJK_RUN.fullmatch(word):
            if word not in _ZH_STOP:
                tokens.append(word)
        elif word.strip("#") and word not in _EN_STOP:
            tokens.append(_stem(word))
    for run in _CJK_RUN.findall(normalized):
        tokens.extend(f"·{run[i : i + 2]}" for i in range(len(run) - 1))
    return tuple(tokens)


@lru_cache(maxsize=TOKEN_CACHE)
def semantic_tokens(normalized: str) -> tuple[str, ...]:
    """Features of the LSA space: character n-grams and words of a normalised text (cached)."""
    return (*char_ngrams(normalized), *(f"w:{w}" for w in word_tokens(normalized) if w.strip("#")))


# --------------------------------------------------------------------------------------------- BM25


class Bm25:
    """BM25 as a document × term weight matrix: a query's scores are the sum of its terms' columns."""

    def __init__(self, documents: Sequence[Sequence[str]], *, k1: float = BM25_K1, b: float = BM25_B) -> None:
        vocabulary: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        counts: list[float] = []
        lengths = np.zeros(len(documents))
        for d, tokens in enumerate(documents):
            lengths[d] = len(tokens)
            tf: dict[int, int] = {}
            for token in tokens:
                j = vocabulary.setdefault(token, len(vocabulary))
                tf[j] = tf.get(j, 0) + 1
            rows.extend([d] * len(tf))
            cols.extend(tf.keys())
            counts.extend(tf.values())
        n = max(len(documents), 1)
        matrix = sparse.csr_matrix(
            (np.asarray(counts, dtype=np.float64), (rows, cols)), shape=(len(documents), len(vocabulary))
        )
        df = np.bincount(matrix.indices, minlength=len(vocabulary)).astype(np.float64)
        self.idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5))
        self.mean_idf = float(self.idf.mean()) if len(self.idf) else 1.0
        average = float(lengths.mean()) if len(documents) and lengths.mean() > 0 else 1.0
        norm = k1 * (1.0 - b + b * lengths / average)
        tf_values = matrix.data
        row_of = np.repeat(np.arange(len(documents)), np.diff(matrix.indptr))
        matrix.data = self.idf[matrix.indices] * tf_values * (k1 + 1.0) / (tf_values + norm[row_of])
        self.weights = matrix.tocsc()
        self.vocabulary = vocabulary
        self.n_documents = len(documents)

    def query_terms(self, tokens: Sequence[str]) -> tuple[np.ndarray, float]:
        """The query's known term ids and its IDF mass (unknown words count as an average word)."""
        unique = set(tokens)
        ids = [self.vocabulary[t] for t in unique if t in self.vocabulary]
        unknown = len(unique) - len(ids)
        ids_array = np.asarray(ids, dtype=np.int64)
        mass = float(self.idf[ids_array].sum()) + unknown * self.mean_idf
        return ids_array, mass

    def scores(self, term_ids: np.ndarray) -> np.ndarray:
        if not len(term_ids):
            return np.zeros(self.n_documents)
        return np.asarray(self.weights[:, term_ids].sum(axis=1)).ravel()


# --------------------------------------------------------------------------------------------- LSA


class SemanticSpace:
    """Sublinear TF-IDF of `semantic_tokens` reduced by a truncated SVD, rows L2-normalised.

    `rows` holds the reduced vectors of the texts it was fitted on, in order (no second transform)."""

    def __init__(self, texts: Sequence[str], *, components: int = SVD_COMPONENTS, seed: int = 0) -> None:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        normalized = [canonical_text(t) for t in texts]
        self.vectorizer = TfidfVectorizer(analyzer=semantic_tokens, sublinear_tf=True, dtype=np.float64)
        matrix = self.vectorizer.fit_transform(normalized)
        k = max(1, min(components, matrix.shape[0] - 1, matrix.shape[1] - 1))
        self.svd = TruncatedSVD(n_components=k, random_state=seed, algorithm="randomized", n_iter=4)
        sample = matrix
        if matrix.shape[0] > SVD_FIT_ROWS:
            rng = np.random.default_rng(seed)
            sample = matrix[np.sort(rng.choice(matrix.shape[0], size=SVD_FIT_ROWS, replace=False))]
        self.svd.fit(sample)
        self.vocabulary: dict[str, int] = self.vectorizer.vocabulary_
        self.idf = np.asarray(self.vectorizer.idf_, dtype=np.float64)
        self.components_t = np.ascontiguousarray(self.svd.components_.T)  # terms × k
        self.rows = _unit_rows(np.asarray(matrix @ self.components_t))

    def embed(self, text: str) -> np.ndarray:
        """One text, without scikit-learn's per-call overhead (the arithmetic of the fitted `rows`)."""
        counts: dict[int, int] = {}
        for gram in semantic_tokens(canonical_text(text)):
            j = self.vocabulary.get(gram)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        if not counts:
            return np.zeros(self.components_t.shape[1])
        idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        values = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))) * self.idf[
            idx
        ]
        values /= math.sqrt(float(values @ values))
        vector = values @ self.components_t[idx]
        length = math.sqrt(float(vector @ vector))
        return vector / length if length > 0 else vector


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    lengths = np.linalg.norm(matrix, axis=1, keepdims=True)
    lengths[lengths == 0] = 1.0
    return matrix / lengths


# --------------------------------------------------------------------------------------------- prior


class IntentPrior:
    """The NLU model's calibrated intent probabilities, for queries and for the knowledge base's questions."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.labels: list[str] = list(model.labels)
        self.positions = {label: i for i, label in enumerate(self.labels)}
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), len(labels)) probabilities, rows summing to 1. Remembered per text (bounded), so
        a rebuild asks the model only about questions it has not seen."""
        if not texts:
            return np.zeros((0, len(self.labels)))
        with self._lock:
            found = {t: self._memo[t] for t in texts if t in self._memo}
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            computed = np.asarray(self.model.predict_proba(missing), dtype=np.float64)
            found.update(zip(missing, computed, strict=True))
            with self._lock:
                self._memo.update(zip(missing, computed, strict=True))
                while len(self._memo) > TOKEN_CACHE:
                    self._memo.popitem(last=False)
        return np.vstack([found[t] for t in texts])

    def query(self, text: str) -> np.ndarray | None:
        """The query's probabilities, or None when the model has no opinion (out of scope)."""
        prediction = self.model.predict(text, k=len(self.labels))
        if prediction.out_of_scope:
            return None
        probabilities = np.zeros(len(self.labels))
        for label, p in prediction.top_k:
            probabilities[self.positions[label]] = p
        return probabilities


def nlu_prior() -> IntentPrior | None:
    """The intent prior from the configured NLU model (LINGXI_NLU_MODEL: `demo`, the shipped model, or a
    directory from `lingxi nlu train`, as the bot uses); None (no prior) when it cannot be loaded."""
    from lingxi.nlu import IntentModel, ModelError, load_demo_model
    from lingxi.settings import get_settings

    configured = get_settings().nlu_model
    try:
        return IntentPrior(load_demo_model() if configured == "demo" else IntentModel.load(configured))
    except ModelError as exc:
        log.warning("knowledge search runs without an intent prior: %s", exc)
        return None


@lru_cache(maxsize=4)
def background_texts(language: str) -> tuple[str, ...]:
    """What the LSA space learns from besides the questions: the NLU demo phrasings of the language (those
    with a Chinese character for zh-CN, the others for en), each alone and each intent's all together."""
    from lingxi.nlu import DEMO_DATA, read_examples

    wanted = language.startswith("zh")
    examples = [e for e in read_examples(DEMO_DATA) if bool(_CJK_RUN.search(e.text)) == wanted]
    by_intent: dict[str, list[str]] = {}
    for example in examples:
        by_intent.setdefault(example.intent, []).append(example.text)
    return (*(e.text for e in examples), *(" ".join(texts) for texts in by_intent.values()))


# --------------------------------------------------------------------------------------------- index


@dataclass
class BuildStats:
    entries: int = 0
    documents: int = 0
    background: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


class FaqIndex:
    """The searchable form of one language's published entries (immutable once built)."""

    def __init__(
        self,
        entries: Sequence[IndexedEntry],
        *,
        language: str,
        revision: int = 0,
        prior: IntentPrior | None = None,
        background: Sequence[str] = (),
        calibrate: bool = True,
    ) -> None:
        started = time.perf_counter()
        self.language = language
        self.revision = revision
        self.entries = list(entries)
        self.prior = prior
        self.stats = BuildStats(entries=len(self.entries), background=len(background))
        self.documents = [q for entry in self.entries for q in entry.questions]
        self.owner = np.repeat(np.arange(len(self.entries)), [len(e.questions) for e in self.entries])
        # Documents are grouped by entry: entry e owns documents starts[e] .. starts[e + 1] - 1.
        self.starts = np.concatenate([[0], np.cumsum([len(e.questions) for e in self.entries])]).astype(int)
        self.sizes = np.diff(self.starts).astype(np.float64)
        self.stats.documents = len(self.documents)
        # A query that is exactly one of the questions (after normalising) is answered by its entry.
        self.exact: dict[str, int] = {}
        for d, question in enumerate(self.documents):
            self.exact.setdefault(canonical_text(question), int(self.owner[d]))
        self._filters()
        self.calibration = DEFAULT_CALIBRATION
        if not self.documents:
            return

        def timed(name: str, started_at: float) -> None:
            self.stats.timings[name] = round(time.perf_counter() - started_at, 4)

        t = time.perf_counter()
        self.bm25 = Bm25([lexical_tokens(d) for d in self.documents])
        timed("bm25", t)
        t = time.perf_counter()
        self.space = SemanticSpace([*self.documents, *background])
        self.doc_vectors = self.space.rows[: len(self.documents)]
        self.centroids = np.add.reduceat(self.doc_vectors, self.starts[:-1], axis=0)
        self.centroid_lengths = np.linalg.norm(self.centroids, axis=1)
        timed("lsa", t)
        t = time.perf_counter()
        self._intent_profiles()
        timed("intent_profiles", t)
        if calibrate:
            t = time.perf_counter()
            self.calibration = fit_calibration(self)
            timed("calibration", t)
        self.stats.seconds = round(time.perf_counter() - started, 4)

    def _filters(self) -> None:
        """Arrays for the query-time filters: channels and validity dates (as ordinal days)."""
        far_past, far_future = date.min.toordinal(), date.max.toordinal()
        self.valid_from = np.asarray(
            [e.valid_from.toordinal() if e.valid_from else far_past for e in self.entries]
        )
        self.valid_to = np.asarray(
            [e.valid_to.toordinal() if e.valid_to else far_future for e in self.entries]
        )
        self.all_channels = np.asarray([not e.channels for e in self.entries], dtype=bool)
        # product key → (entry, product position) pairs: which entries are about a product of that name.
        self.product_entries: dict[str, list[tuple[int, int]]] = {}
        for e, entry in enumerate(self.entries):
            for position, keys in enumerate(entry.products):
                for key in keys:
                    self.product_entries.setdefault(key, []).append((e, position))
        self.channel_masks: dict[str, np.ndarray] = {}
        for channel in {c for e in self.entries for c in e.channels}:
            self.channel_masks[channel] = np.asarray(
                [channel in e.channels for e in self.entries], dtype=bool
            )

    def serving(self, channel: str | None, today: date) -> np.ndarray:
        """Which entries answer on `channel` (None: any) on the bank-local date `today`."""
        day = today.toordinal()
        mask = (self.valid_from <= day) & (day <= self.valid_to)
        if channel:
            mask &= self.all_channels | self.channel_masks.get(channel, False)
        return mask

    def _intent_profiles(self) -> None:
        """Each question's intent probabilities, and each entry's declared intent (a label position)."""
        self.doc_intents: np.ndarray | None = None
        self.declared = np.full(len(self.entries), -1, dtype=np.int64)
        if self.prior is None:
            return
        self.doc_intents = self.prior.probabilities(self.documents)
        for e, entry in enumerate(self.entries):
            if entry.intent is not None and entry.intent in self.prior.positions:
                self.declared[e] = self.prior.positions[entry.intent]
        # entries × labels: the mean of the questions' probabilities, blended with the declared intent.
        mean = np.add.reduceat(self.doc_intents, self.starts[:-1], axis=0) / self.sizes[:, None]
        declared = np.zeros_like(mean)
        rows = np.flatnonzero(self.declared >= 0)
        declared[rows, self.declared[rows]] = 1.0
        w = DECLARED_INTENT_WEIGHT
        self.profiles = np.where((self.declared >= 0)[:, None], (1 - w) * mean + w * declared, mean)

    # ------------------------------------------------------------------ signals

    def signals(self, query: str, *, exclude_document: int | None = None) -> dict[str, np.ndarray]:
        """The FEATURES per entry (arrays over entries), the per-document lexical scores, the query vector.

        `exclude_document` answers as if that question were not in the index (leave-one-out calibration).
        """
        term_ids, mass = self.bm25.query_terms(lexical_tokens(query))
        lexical_docs = self.bm25.scores(term_ids) / mass if mass > 0 else np.zeros(len(self.documents))
        query_vector = self.space.embed(query)
        dots = self.centroids @ query_vector
        lengths = self.centroid_lengths
        if exclude_document is not None:  # the entry's centroid without that question
            own = int(self.owner[exclude_document])
            rest = self.centroids[own] - self.doc_vectors[exclude_document]
            dots[own] = float(rest @ query_vector)
            lengths = lengths.copy()
            lengths[own] = float(np.linalg.norm(rest))
            lexical_docs[exclude_document] = -np.inf
        lexical = np.maximum.reduceat(lexical_docs, self.starts[:-1])
        semantic = dots / np.where(lengths > 0, lengths, 1.0)
        return {
            "lexical": np.clip(np.where(np.isfinite(lexical), lexical, 0.0), 0.0, 1.0),
            "semantic": semantic,
            "intent_prior": self._prior(query, exclude_document),
            "lexical_documents": lexical_docs,
            "query_vector": query_vector,
        }

    def _prior(self, query: str, exclude_document: int | None) -> np.ndarray:
        """The query's intent probabilities dotted with each entry's intent profile (0 without a model)."""
        if self.prior is None or self.doc_intents is None:
            return np.zeros(len(self.entries))
        probabilities = self.prior.query(query)
        if probabilities is None:  # the model has no opinion: neither evidence for nor against
            return np.zeros(len(self.entries))
        prior = self.profiles @ probabilities
        if exclude_document is not None:  # leave-one-out: the entry's profile without that question
            own = int(self.owner[exclude_document])
            others = [d for d in range(self.starts[own], self.starts[own + 1]) if d != exclude_document]
            mean = float((self.doc_intents[others] @ probabilities).mean()) if others else 0.0
            if self.declared[own] >= 0:
                w = DECLARED_INTENT_WEIGHT
                mean = (1 - w) * mean + w * float(probabilities[self.declared[own]])
            prior[own] = mean
        return prior

    @staticmethod
    def feature_matrix(signals: dict[str, np.ndarray]) -> np.ndarray:
        return np.column_stack([signals[name] for name in FEATURES])

    # ------------------------------------------------------------------ search

    def about(self, product_keys: Collection[str]) -> np.ndarray:
        """Per entry, the share of its products that `product_keys` name (keys as `schemas.product_key`):
        1 for an entry about that product alone, ¼ for an overview of four, 0 for the others."""
        named: set[tuple[int, int]] = set()
        for key in product_keys:
            named.update(self.product_entries.get(key, ()))
        share = np.zeros(len(self.entries))
        for e, _ in named:
            share[e] += 1.0 / len(self.entries[e].products)
        return share

    def search(
        self,
        query: str,
        *,
        channel: str | None,
        today: date,
        limit: int = SUGGESTIONS,
        product_keys: Collection[str] = (),
    ) -> SearchResult:
        """Ranked hits among the entries that serve `channel` today, and the decision. Entries about one
        of `product_keys` (products the caller recognised in the query) get PRODUCT_BOOST."""
        limit = max(1, limit)
        serving = self.serving(channel, today) if self.entries else np.zeros(0, dtype=bool)
        if not self.documents or not query.strip() or not serving.any():
            return SearchResult("none", (), query, self.language, channel or "", self.revision)
        signals = self.signals(query)
        about = self.about(product_keys)
        scores = np.where(
            serving, self.calibration.score(self.feature_matrix(signals), boost=PRODUCT_BOOST * about), -1.0
        )
        wanted = min(max(limit, SUGGESTIONS), int(serving.sum()))
        candidates = (
            np.argpartition(-scores, wanted - 1)[:wanted] if wanted < len(scores) else np.arange(len(scores))
        )
        order = sorted((int(i) for i in candidates), key=lambda i: (-scores[i], self.entries[i].entry_id))
        exact = self.exact.get(canonical_text(query))
        if exact is not None and serving[exact]:
            order = [exact, *(i for i in order if i != exact)][: len(order)]
        hits = tuple(self._hit(i, signals, float(scores[i]), bool(about[i] > 0)) for i in order)
        decision = "answer" if exact is not None and serving[exact] else decide([h.score for h in hits])
        return SearchResult(decision, hits[:limit], query, self.language, channel or "", self.revision)

    def _hit(self, i: int, signals: dict[str, np.ndarray], score: float, product_match: bool) -> Hit:
        entry = self.entries[i]
        start, end = int(self.starts[i]), int(self.starts[i + 1])
        closeness = (
            signals["lexical_documents"][start:end] + self.doc_vectors[start:end] @ signals["query_vector"]
        )
        best = start + int(np.argmax(closeness))
        return Hit(
            entry_id=entry.entry_id,
            key=entry.key,
            version=entry.version,
            language=entry.language,
            category=entry.category,
            intent=entry.intent,
            standard_question=entry.standard_question,
            matched_question=self.documents[best],
            answer_html=entry.answer_html,
            answer_text=entry.answer_text,
            score=round(score, 4),
            lexical=round(float(signals["lexical"][i]), 4),
            semantic=round(float(signals["semantic"][i]), 4),
            intent_prior=round(float(signals["intent_prior"][i]), 4),
            product_match=product_match,
        )

    def by_id(self, entry_id: int, *, channel: str | None, today: date) -> IndexedEntry | None:
        """The published entry with that id, if it serves `channel` today."""
        for e, entry in enumerate(self.entries):
            if entry.entry_id == entry_id:
                return entry if self.serving(channel, today)[e] else None
        return None

    def for_intent(self, intent: str, *, channel: str | None, today: date) -> IndexedEntry | None:
        """The entry that answers an intent: one limited to the channel before a general one, then the
        oldest entry."""
        if not self.entries:
            return None
        serving = self.serving(channel, today)
        candidates = [e for e, ok in zip(self.entries, serving, strict=True) if ok and e.intent == intent]
        if not candidates:
            return None
        return min(candidates, key=lambda e: (not (channel and channel in e.channels), e.entry_id))


def decide(scores: Sequence[float]) -> Decision:
    """answer / suggest / none from the ranked calibrated scores (module docstring)."""
    if not scores:
        return "none"
    top = scores[0]
    second = scores[1] if len(scores) > 1 else 0.0
    if top >= ANSWER_THRESHOLD and top - second >= ANSWER_MARGIN:
        return "answer"
    if top >= SUGGEST_THRESHOLD:
        return "suggest"
    return "none"


# --------------------------------------------------------------------------------------------- calibration


def calibration_groups(index: FaqIndex, *, seed: int = 0) -> tuple[list[np.ndarray], int]:
    """Leave-one-out candidate groups: every question with a sibling is asked without itself; a group holds
    the features of its own entry (row 0) and of the CALIBRATION_CANDIDATES other entries most like it."""
    askable = [d for d in range(len(index.documents)) if index.sizes[index.owner[d]] > 1]
    if len(askable) > MAX_CALIBRATION_QUERIES:
        rng = np.random.default_rng(seed)
        askable = sorted(rng.choice(askable, size=MAX_CALIBRATION_QUERIES, replace=False).tolist())
    groups: list[np.ndarray] = []
    for d in askable:
        own = int(index.owner[d])
        features = index.feature_matrix(index.signals(index.documents[d], exclude_document=d))
        rough = features.sum(axis=1)
        rough[own] = -np.inf
        count = min(CALIBRATION_CANDIDATES, len(rough) - 1)
        if count < 1:
            continue
        others = np.argpartition(-rough, count - 1)[:count]
        groups.append(features[[own, *others.tolist()]])
    return groups, len(askable)


def _fit_ranking(groups: list[np.ndarray]) -> np.ndarray:
    """Weights of a conditional logit (softmax over each group's candidates; the first is right)."""
    from scipy.optimize import minimize

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total = 0.5 * RANKING_RIDGE * float(w @ w)
        gradient = RANKING_RIDGE * w
        for group in groups:
            u = group @ w
            p = np.exp(u - u.max())
            p /= p.sum()
            total -= math.log(max(float(p[0]), 1e-300))
            gradient = gradient - (group[0] - p @ group)
        return total / len(groups), gradient / len(groups)

    width = groups[0].shape[1]
    return np.asarray(minimize(loss, np.ones(width), jac=True, method="L-BFGS-B").x)


def fit_calibration(index: FaqIndex) -> Calibration:
    """Ranking weights by conditional logit on leave-one-out queries, then Platt scaling of the utility;
    DEFAULT_CALIBRATION when the base is too small or a weight comes out non-positive."""
    from sklearn.linear_model import LogisticRegression

    groups, queries = calibration_groups(index)
    if queries < MIN_CALIBRATION_QUERIES or not groups:
        return replace(DEFAULT_CALIBRATION, queries=queries, note="too few questions with a sibling to fit")
    prior_column = FEATURES.index("intent_prior")
    uses_prior = any(g[:, prior_column].any() for g in groups)
    columns = [c for c in range(len(FEATURES)) if uses_prior or c != prior_column]
    w = _fit_ranking([g[:, columns] for g in groups])
    if (w <= 0).any():
        log.info("calibration: non-positive ranking weight %s; using the default", w.round(3).tolist())
        return replace(
            DEFAULT_CALIBRATION, queries=queries, note=f"fit rejected: weights {w.round(2).tolist()}"
        )
    utilities = np.concatenate([g[:, columns] @ w for g in groups])
    labels = np.concatenate([np.r_[1.0, np.zeros(len(g) - 1)] for g in groups])
    platt = LogisticRegression(C=100.0, max_iter=1000)
    platt.fit(utilities[:, None], labels)
    scale = float(platt.coef_[0][0])
    if scale <= 0:
        return replace(DEFAULT_CALIBRATION, queries=queries, note="fit rejected: no separation")
    weights = [0.0, 0.0, 0.0]
    for column, weight in zip(columns, w, strict=True):
        weights[column] = float(weight) * scale
    return Calibration(
        weights=(weights[0], weights[1], weights[2]),
        intercept=float(platt.intercept_[0]),
        source="fitted",
        queries=queries,
    )
