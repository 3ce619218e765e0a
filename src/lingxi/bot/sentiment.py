"""A small lexicon score for how upset a customer sounds (Chinese and English).

Not a model of opinion: it only has to notice the strongly negative messages (anger, insults,
threats to complain to the regulator) that a person should take over. Scores add up per hit;
intensifiers and repeated punctuation make it stronger; a negation before a mild word cancels it.
"""

from __future__ import annotations

import re

# word → weight (negative = upset)
_LEXICON: dict[str, int] = {
    # strong
    "垃圾": -3,
    "骗子": -3,
    "气死": -3,
    "坑人": -3,
    "无耻": -3,
    "滚": -3,
    "去死": -3,
    "恶心": -3,
    "银保监": -3,
    "金融监管": -3,
    "12378": -3,
    "报警": -2,
    "曝光": -3,
    "起诉": -3,
    "律师": -2,
    "什么破": -3,
    "破银行": -3,
    "烂透": -3,
    "太差劲": -3,
    "忍无可忍": -3,
    "欺人太甚": -3,
    "scam": -3,
    "rubbish": -3,
    "useless": -2,
    "disgusting": -3,
    "ridiculous": -2,
    "terrible": -2,
    "worst": -3,
    "sue": -3,
    "lawyer": -2,
    "regulator": -3,
    "furious": -3,
    "unacceptable": -2,
    # mild
    "生气": -2,
    "愤怒": -2,
    "失望": -2,
    "太慢": -1,
    "麻烦死": -2,
    "烦": -1,
    "差劲": -2,
    "离谱": -2,
    "投诉": -1,
    "不满": -2,
    "无语": -1,
    "崩溃": -2,
    "受不了": -2,
    "着急": -1,
    "急死": -2,
    "angry": -2,
    "annoyed": -1,
    "disappointed": -2,
    "frustrated": -2,
    "upset": -2,
    "slow": -1,
    # positive
    "谢谢": 1,
    "感谢": 1,
    "满意": 1,
    "不错": 1,
    "好评": 2,
    "thanks": 1,
    "thank you": 1,
    "great": 1,
}
_INTENSIFIERS = re.compile(r"太|非常|真是|真的|简直|特别|极其|so |really |very |extremely ")
_NEGATIONS = ("不", "没", "别", "not ", "no ", "never ")
_WORDS = re.compile("|".join(sorted((re.escape(w) for w in _LEXICON), key=len, reverse=True)), re.IGNORECASE)


def sentiment_score(text: str) -> int:
    """Sum of the weights of the lexicon words in the text, adjusted; ≤ -3 is strongly negative."""
    lowered = text.lower()
    score = 0
    for match in _WORDS.finditer(lowered):
        weight = _LEXICON[match.group(0)]
        before = lowered[max(0, match.start() - 4) : match.start()]
        if weight > -3 and any(before.endswith(n) for n in _NEGATIONS):
            continue  # "不生气" / "not angry"
        score += weight
    if score < 0:
        if _INTENSIFIERS.search(lowered):
            score -= 1
        if re.search(r"[!！]{2,}|[?？]{3,}", text):
            score -= 1
    return score
