"""Entities in customer messages: card tails, amounts, dates, phone/ID/card numbers, account kinds, products.

`extract_entities(text, today=..., products=...)` runs every extractor over one message and resolves
overlaps, so a span of the message belongs to at most one entity. Rule based on purpose: the slots a
bank bot needs are few and well formed, every rule is testable, and nothing leaves the premises.

Value types per entity type:

===============  =============================  ==========================================
type             value                          examples
===============  =============================  ==========================================
``card_tail``    ``str`` (4 digits)             尾号6688, 卡号后四位是1234, ending in 1234, ****1234
``amount``       :class:`Money`                 一万五千, 1.5万, 3万块, ¥2,000, 两千五, RMB 300, $50
``date``         ``datetime.date``              2026-03-05, 3月5日, 上周五, 下个月10号, last Friday
``phone``        ``str`` (11 digits, no +86)    138 1234 5678, +86-13812345678
``id_number``    ``str`` (upper-case X)         18 digits with a valid check digit; 15-digit legacy
``card_number``  ``str`` (digits)               13–19 digits passing Luhn (also identifies the account)
``account_ref``  ``str`` (a kind code)          储蓄卡 → debit_card, 工资卡 → salary_card
``product``      ``str`` (the product's name)   names from the ``products`` argument, longest match
===============  =============================  ==========================================

Overlaps: validated numbers (ID, card) win over phones, phones over products, then card tails, dates,
amounts and account kinds; within a rank the longer span wins. See docs/nlu-data.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Literal
from zoneinfo import ZoneInfo

from lingxi.core.masking import mask_card, mask_id_number, mask_phone, mask_text

EntityType = Literal[
    "card_tail", "amount", "date", "phone", "id_number", "card_number", "account_ref", "product"
]

BANK_TIMEZONE = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of money: a Decimal and an ISO 4217 currency code (CNY unless the text says otherwise)."""

    amount: Decimal
    currency: str = "CNY"

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


EntityValue = str | date | Money


@dataclass(frozen=True, slots=True)
class Entity:
    """One entity: its type, normalised value, the text as the customer wrote it and its [start, end) span."""

    type: EntityType
    value: EntityValue
    text: str
    start: int
    end: int


# ---------------------------------------------------------------------------------------------
# Chinese numerals.

_CN_DIGITS: dict[str, int] = {
    "零": 0, "〇": 0, "○": 0,
    "一": 1, "壹": 1, "幺": 1,
    "二": 2, "两": 2, "兩": 2, "贰": 2, "貳": 2,
    "三": 3, "叁": 3, "參": 3,
    "四": 4, "肆": 4,
    "五": 5, "伍": 5,
    "六": 6, "陆": 6, "陸": 6,
    "七": 7, "柒": 7,
    "八": 8, "捌": 8,
    "九": 9, "玖": 9,
}  # fmt: skip
_CN_UNITS: dict[str, int] = {
    "十": 10,
    "拾": 10,
    "百": 100,
    "佰": 100,
    "千": 1000,
    "仟": 1000,
    "k": 1000,
    "K": 1000,
}
_CN_BIG: dict[str, int] = {"万": 10**4, "萬": 10**4, "w": 10**4, "W": 10**4, "亿": 10**8, "億": 10**8}

_D = "".join(_CN_DIGITS)  # digit characters for character classes
_U = "十拾百佰千仟"
_B = "万萬亿億"
_ZERO_CHARS = {"零", "〇", "○"}

_NUM_TOKEN = re.compile(
    rf"(?P<arabic>\d+(?:\.\d+)?)"
    rf"|(?P<cndec>[{_D}]+点[{_D}]+)"
    rf"|(?P<digit>[{_D}])"
    rf"|(?P<unit>[{_U}kK])"
    rf"|(?P<big>[{_B}wW])"
    rf"|(?P<half>个?半)"
    rf"|(?P<space>\s+)"
)
_THOUSANDS_COMMA = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def _digits_of(text: str) -> str:
    """'六六八八' -> '6688', '0921' -> '0921': a digit-by-digit reading, leading zeros kept."""
    return "".join(ch if ch.isdigit() else str(_CN_DIGITS[ch]) for ch in text if not ch.isspace())


def _clean(value: Decimal) -> Decimal:
    """15000.0 -> 15000, 0.50 -> 0.5 (same number, tidy representation)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def parse_chinese_number(text: str) -> Decimal:
    """Parse a number written with Chinese numerals, Arabic digits or a mix of both.

    一万五千 → 15000, 一万五 → 15000, 两千五 → 2500, 三百五 → 350, 十五 → 15, 一百零五 → 105,
    1.5万 → 15000, 3万5千 → 35000, 2万5 → 25000, 一点五万 → 15000, 三亿五千万 → 350000000,
    半 → 0.5, 两个半 → 2.5, 六六八八 → 6688 (digit by digit), 壹万贰仟 → 12000, 2,000 → 2000,
    10w / 5k → 100000 / 5000. Raises ValueError when the text is not a number.
    """
    s = _THOUSANDS_COMMA.sub("", text.strip())
    if not s:
        raise ValueError("empty number")
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(s):
        m = _NUM_TOKEN.match(s, pos)
        if not m or m.end() == pos:
            raise ValueError(f"not a number: {text!r}")
        kind = m.lastgroup or ""
        if kind != "space":
            tokens.append((kind, m.group()))
        pos = m.end()
    if not tokens:
        raise ValueError(f"not a number: {text!r}")

    # Digit by digit (一二三四, 二〇二六): two or more bare Chinese digits and nothing else.
    if len(tokens) >= 2 and all(kind == "digit" for kind, _ in tokens):
        return Decimal(_digits_of("".join(tok for _, tok in tokens)))

    result = Decimal(0)  # completed 亿 groups
    wan = Decimal(0)  # completed 万 groups inside the current 亿 group
    small = Decimal(0)  # below 万
    num: Decimal | None = None  # a number waiting for its unit
    num_single = False  # that number is one digit (一万五: the 五 means 5000)
    last_unit = 0  # scale of the last unit seen, for the colloquial elision
    zero = False  # a 零 since the last unit: 一百零五 is 105, not 150
    half = False
    for i, (kind, tok) in enumerate(tokens):
        if half:
            raise ValueError(f"半 must come last: {text!r}")
        if kind in {"arabic", "cndec", "digit"}:
            if num is not None:
                raise ValueError(f"two numbers in a row: {text!r}")
            if kind == "arabic":
                num, num_single = Decimal(tok), len(tok) == 1
            elif kind == "cndec":
                whole, frac = tok.split("点")
                num, num_single = Decimal(f"{_digits_of(whole)}.{_digits_of(frac)}"), False
            elif tok in _ZERO_CHARS:
                zero = True
            else:
                num, num_single = Decimal(_CN_DIGITS[tok]), True
        elif kind == "unit":
            unit = _CN_UNITS[tok]
            if num is None and not (unit == 10 or i == 0):
                raise ValueError(f"unit without a number: {text!r}")
            small += (num if num is not None else 1) * unit
            num, last_unit, zero = None, unit, False
        elif kind == "big":
            unit = _CN_BIG[tok]
            if unit == 10**4:
                group = small + (num or 0)
                wan += (group if group else 1) * unit
            else:
                group = wan + small + (num or 0)
                result = result + group * unit if group else (result or Decimal(1)) * unit
                wan = Decimal(0)
            small, num, last_unit, zero = Decimal(0), None, unit, False
        elif kind == "half":
            half = True
    if num is not None:
        if last_unit >= 10 and num_single and not zero:
            num *= last_unit // 10  # 两千五 = 2500, 一万五 = 15000, 三百五 = 350
        small += num
    total = result + wan + small
    if half:
        last_kind = tokens[-2][0] if len(tokens) >= 2 else ""
        total += Decimal(last_unit) / 2 if last_kind in {"unit", "big"} else Decimal("0.5")
    return _clean(total)


# ---------------------------------------------------------------------------------------------
# Shared pieces.

# Full-width ASCII (１２３，ＲＭＢ) -> half-width, one character for one, so offsets stay valid.
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

_ARABIC = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
# A numeral run: Arabic numbers and Chinese numerals; it starts with a digit or 十 (never with
# 百千万亿, so 千万 "by all means" and 万一 "in case" are not numbers).
_RUN = rf"(?=[\d{_D}十拾])(?:{_ARABIC}|[{_D}{_U}{_B}]|点(?=[{_D}]))++(?:个?半)?"  # possessive: linear time
_NO_ALNUM_BEFORE = r"(?<![A-Za-z0-9.])"
_NO_ALNUM_AFTER = r"(?![A-Za-z0-9])"


def _window_before(text: str, start: int, size: int = 12) -> str:
    return text[max(0, start - size) : start]


# ---------------------------------------------------------------------------------------------
# ID and card numbers (validated), phones.

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def is_valid_id_number(value: str) -> bool:
    """A resident ID number: 18 characters with a valid birth date and GB 11643 check character,
    or a 15-digit legacy number (no check digit) with a valid 19YYMMDD birth date."""
    value = value.upper()
    if len(value) == 18 and value[:17].isdigit():
        birth = value[6:14]
        check = _ID_CHECK[sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True)) % 11]
        if value[17] != check:
            return False
    elif len(value) == 15 and value.isdigit():
        birth = "19" + value[6:12]
    else:
        return False
    if value[0] == "0":
        return False
    try:
        born = date(int(birth[:4]), int(birth[4:6]), int(birth[6:8]))
    except ValueError:
        return False
    return born.year >= 1900


def is_luhn_valid(digits: str) -> bool:
    if not digits.isdigit() or len(digits) < 2:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


_LONG_NUMBER = re.compile(
    r"(?<![A-Za-z0-9])(?<!\d[ -])"
    r"(?:\d{17}[\dXx]|\d{13,19}|\d{6}[ -]\d{8}[ -]\d{3}[\dXx]"
    r"|\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,7})?|\d{6}[ -]\d{10,13})"
    r"(?![A-Za-z0-9])(?![ -]\d)"
)
_ID_CONTEXT = re.compile(r"身份证|身份證|身分證|证件|證件|\bID\b|id\s*(?:number|no|card)", re.IGNORECASE)
_CARD_CONTEXT = re.compile(r"卡号|卡號|账号|賬號|帳號|银行卡|card|account", re.IGNORECASE)


def _extract_long_numbers(text: str, ctx: _Context) -> Iterator[Entity]:
    for m in _LONG_NUMBER.finditer(text):
        raw = m.group()
        digits = re.sub(r"[ -]", "", raw).upper()
        before = _window_before(text, m.start())
        luhn = 13 <= len(digits) <= 19 and is_luhn_valid(digits)
        if luhn and re.fullmatch(r"(?:86|0086)1[3-9]\d{9}", digits):
            continue  # a mobile number with its country code
        if is_valid_id_number(digits):
            # Both readings valid (rare): the words before decide; an ID unless they speak of a card.
            card_said = _CARD_CONTEXT.search(before) and not _ID_CONTEXT.search(before)
            if not (luhn and (card_said or len(digits) == 15)) or _ID_CONTEXT.search(before):
                yield ctx.entity("id_number", digits, m.start(), m.end())
                continue
        if luhn:
            yield ctx.entity("card_number", digits, m.start(), m.end())


_PHONE = re.compile(
    r"(?<![A-Za-z0-9+])(?<!\d[ -])"
    r"(?:(?:\+86|0086|86)[ -]?)?"
    r"(1[3-9]\d)([ -]?)(\d{4})\2(\d{4})"
    r"(?![ -]?\d)(?![A-Za-z])"
)


def _extract_phones(text: str, ctx: _Context) -> Iterator[Entity]:
    for m in _PHONE.finditer(text):
        yield ctx.entity("phone", m.group(1) + m.group(3) + m.group(4), m.start(), m.end())


# ---------------------------------------------------------------------------------------------
# Card tails.

_CARD_TAIL_ZH = re.compile(
    r"(?:卡号|卡號|卡)?(?:的)?"
    r"(?:尾号|尾號|尾数|尾數|尾码|尾碼|末尾|末四位|末4位|后四位|后4位|後四位|最后四位|最后4位|最後四位)"
    r"(?:数字|數字|号码|號碼)?\s*(?:是|为|為|:|：|=)?\s*"
    rf"(\d{{4}}|[{_D}]{{4}})(?!\d)"
)
_CARD_TAIL_EN = re.compile(
    r"(?i:\b(?:ending|ends|ended)(?:\s+(?:in|with))?\s*:?\s*"
    r"|\blast\s+(?:4|four)(?:\s+digits?)?(?:\s+(?:is|are|of|being))?\s*:?\s*)"
    r"(\d{4})\b"
)
_CARD_TAIL_MASKED = re.compile(r"(?:\*{2,}|[xX]{3,}|•{2,})[ -]?(\d{4})(?!\d)")
_PHONE_BEFORE_TAIL = re.compile(
    r"(?:手机|手機|电话|電話|号码|號碼|phone|mobile)(?:号|號)?(?:码|碼)?的?\s*$", re.I
)


def _extract_card_tails(text: str, ctx: _Context) -> Iterator[Entity]:
    for pattern in (_CARD_TAIL_ZH, _CARD_TAIL_EN, _CARD_TAIL_MASKED):
        for m in pattern.finditer(text):
            if _PHONE_BEFORE_TAIL.search(_window_before(text, m.start(), 8)):
                continue  # 手机尾号5678 is the tail of a phone number, not of a card
            yield ctx.entity("card_tail", _digits_of(m.group(1)), m.start(), m.end())


# ---------------------------------------------------------------------------------------------
# Amounts.

_PREFIX_CURRENCY: dict[str, str] = {
    "¥": "CNY", "￥": "CNY", "rmb": "CNY", "cny": "CNY", "人民币": "CNY",
    "us$": "USD", "usd": "USD", "$": "USD", "美元": "USD",
    "hk$": "HKD", "hkd": "HKD", "港币": "HKD",
    "€": "EUR", "eur": "EUR", "欧元": "EUR", "£": "GBP", "gbp": "GBP", "英镑": "GBP", "jpy": "JPY",
    "港元": "HKD", "日元": "JPY",
}  # fmt: skip
_SUFFIX_CURRENCY: dict[str, str] = {
    "元": "CNY", "圆": "CNY", "块钱": "CNY", "塊錢": "CNY", "块": "CNY", "塊": "CNY", "人民币": "CNY",
    "rmb": "CNY", "cny": "CNY", "yuan": "CNY",
    "美元": "USD", "美金": "USD", "刀": "USD", "usd": "USD", "us dollars": "USD", "dollars": "USD",
    "dollar": "USD",
    "港币": "HKD", "港幣": "HKD", "港元": "HKD", "hkd": "HKD",
    "欧元": "EUR", "歐元": "EUR", "eur": "EUR", "euros": "EUR", "euro": "EUR",
    "英镑": "GBP", "英鎊": "GBP", "gbp": "GBP", "pounds": "GBP",
    "日元": "JPY", "日币": "JPY", "日幣": "JPY", "jpy": "JPY", "yen": "JPY",
}  # fmt: skip


def _alternation(words: Sequence[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_PREFIX_RE = _alternation(list(_PREFIX_CURRENCY))
_SUFFIX_RE = _alternation(list(_SUFFIX_CURRENCY))
# After 元/块: 三块五, 两块五毛, 2元5角3分, 三块半.
_SUBUNIT = (
    rf"(?:(?P<jiao>[\d{_D}])(?:[毛角](?:(?P<fen>[\d{_D}])分)?)?(?![\d{_D}号號日月年万千百亿]))|(?P<half>半)"
)
# Things counted rather than paid: a number followed by one of these is not an amount (2026年, 12期, 3万积分).
_COUNTER = (
    r"(?:年(?!费|費|化|息|薪)|月(?!供|薪|费|費)|日|号|號|天|周|週|个|個|次|期|岁|歲|人|张|張|笔|筆|条|條|位|小时"
    r"|分钟|分(?!期|成|给|給)|秒|%|％|倍|折|楼|樓|层|層"
    r"|公里|米|斤|克|积分|積分|里程|份|遍|步|字|户|戶|家|台|件|辆|套|平|度|行|点|點|级|級|代|届|寸|G|g|M|m|km|kg)"
)
_AMOUNT_PREFIXED = re.compile(
    rf"(?<![A-Za-z])(?i:(?P<cur>{_PREFIX_RE}))\s?(?P<num>{_ARABIC}(?:\s?[{_U}{_B}kKwW](?![A-Za-z]))*|{_RUN})"
    rf"(?:\s?(?i:(?P<cur2>{_SUFFIX_RE})))?{_NO_ALNUM_AFTER}"
)
_AMOUNT_SUFFIXED = re.compile(
    rf"{_NO_ALNUM_BEFORE}(?<!第)(?P<num>{_RUN}|(?:{_ARABIC})[kKwW])(?:多|余|餘|来)?\s?"
    rf"(?P<cur>(?i:{_SUFFIX_RE}))(?:{_SUBUNIT})?(?![A-Za-z])"
)
_AMOUNT_JIAO = re.compile(rf"(?<![\d{_D}{_U}{_B}])(?P<num>[1-9一二两三四五六七八九])(?:毛|毛钱)(?![A-Za-z])")
_AMOUNT_BARE = re.compile(
    rf"{_NO_ALNUM_BEFORE}(?<!第)(?P<num>{_RUN}|(?:{_ARABIC})[kKwW](?![A-Za-z]))(?!\.\d){_NO_ALNUM_AFTER}"
)
_COUNTER_AT = re.compile(rf"\s?{_COUNTER}")
_IDIOM_AT = re.compile(r"十万火急")  # "extremely urgent", not 100,000 yuan
_MONEY_CONTEXT = re.compile(
    r"(?:转账?|轉賬?|汇款?|匯款?|打款|扣款?|扣|付款?|支付|收款?|还款?|還款?|还|還|借|贷款?|貸款?|存款?|存|取款?|取|花|退款?|退|"
    r"交|充值?|消费|消費|刷|提现|取现|额度|額度|金额|金額|余额|餘額|欠款?|欠|差|赔|罚|报销|工资|工資|房租|首付|月供|"
    r"一共|总共|總共|合计|合計|共)"
    r"(?:了|过|過|掉|给|給|我|他|她|你们|你們|你|们|一笔|一筆|笔|共|约|大约|大概|差不多|将近|近|是|为|為|有|的|\s)*$"
    r"|(?i:\b(?:transfer(?:red)?|sent|send|paid|pay|charged|withdr[ae]w|deposit(?:ed)?|borrow(?:ed)?|owe|spen[dt]|"
    r"refund(?:ed)?|limit(?:\s+(?:of|to))?)\s+(?:me\s+|about\s+|around\s+|only\s+)?$)"
)
_KUAI_NOT_MONEY = re.compile(r"[儿兒去走来來玩吃过過住做办辦聊]")


def _parse_amount(num: str) -> Decimal | None:
    try:
        return parse_chinese_number(num)
    except (ValueError, InvalidOperation):
        return None


def _has_magnitude(num: str) -> bool:
    """A numeral with 千/万/亿 (or k/w) reads as money on its own: 两千五, 3万, 1.5万, 200k."""
    return bool(re.search(rf"[千仟{_B}kKwW]", num))


def _extract_amounts(text: str, ctx: _Context) -> Iterator[Entity]:
    for m in _AMOUNT_PREFIXED.finditer(text):
        value = _parse_amount(m.group("num"))
        if value is not None:
            currency = _PREFIX_CURRENCY[m.group("cur").lower()]
            if m.group("cur2"):
                currency = _SUFFIX_CURRENCY[m.group("cur2").lower()]
            yield ctx.entity("amount", Money(value, currency), m.start(), m.end())

    for m in _AMOUNT_SUFFIXED.finditer(text):
        num, cur = m.group("num"), m.group("cur").lower()
        value = _parse_amount(num)
        if value is None:
            continue
        if cur == "刀" and not num[0].isdigit():
            continue  # 砍一刀 is not a dollar
        if cur in {"块", "塊"} and _KUAI_NOT_MONEY.match(text, m.end()) and not m.group("jiao"):
            continue  # 一块去 = "together"
        if m.group("jiao"):
            value += Decimal(_digits_of(m.group("jiao"))) / 10
            if m.group("fen"):
                value += Decimal(_digits_of(m.group("fen"))) / 100
        elif m.group("half"):
            value += Decimal("0.5")
        yield ctx.entity("amount", Money(_clean(value), _SUFFIX_CURRENCY[cur]), m.start(), m.end())

    for m in _AMOUNT_JIAO.finditer(text):
        value = Decimal(_digits_of(m.group("num"))) / 10
        yield ctx.entity("amount", Money(value, "CNY"), m.start(), m.end())

    for m in _AMOUNT_BARE.finditer(text):
        num, end = m.group("num"), m.end()
        if _IDIOM_AT.match(text, m.start()):
            continue
        if _COUNTER_AT.match(text, end):
            # 2026年, 12期, 3万积分 count things. In 借20万三年 the 三 counts the years: keep 20万.
            trimmed = re.sub(rf"[{_D}]+$", "", num)
            if trimmed == num or not trimmed or trimmed[-1] not in _U + _B:
                continue
            num, end = trimmed, m.start() + len(trimmed)
        if not (_has_magnitude(num) or _MONEY_CONTEXT.search(_window_before(text, m.start()))):
            continue
        if len(re.sub(r"\D", "", num)) > 12:
            continue  # a long digit string is an identifier, not money
        value = _parse_amount(num)
        if value is not None:
            yield ctx.entity("amount", Money(value, "CNY"), m.start(), end)


# ---------------------------------------------------------------------------------------------
# Dates.

_CN_DAY = rf"\d{{1,2}}|[{_D}十拾]{{1,3}}"
_CN_MONTH = r"\d{1,2}|十[一二]|[一二三四五六七八九十]|正"
_CN_YEAR = rf"(?:\d{{4}}|[{_D}]{{4}})\s*年|今年|去年|明年|前年|后年|後年"
_WEEKDAY_ZH = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6,
               "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}  # fmt: skip
_RELATIVE_DAYS = {
    "大前天": -3, "前天": -2, "前日": -2, "昨天": -1, "昨日": -1, "昨儿": -1, "昨晚": -1, "昨夜": -1,
    "今天": 0, "今日": 0, "今儿": 0, "今早": 0, "今晚": 0, "明天": 1, "明日": 1, "明儿": 1, "明早": 1,
    "明晚": 1, "后天": 2, "後天": 2, "大后天": 3, "大後天": 3,
}  # fmt: skip
_EN_RELATIVE_DAYS = {
    "the day before yesterday": -2, "yesterday": -1, "today": 0, "tonight": 0, "tomorrow": 1,
    "the day after tomorrow": 2,
}  # fmt: skip
_EN_WEEKDAYS = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2, "thursday": 3,
    "thu": 3, "thur": 3, "thurs": 3, "friday": 4, "fri": 4, "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
}  # fmt: skip
_EN_MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4, "may": 5,
    "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9, "september": 9,
    "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}  # fmt: skip

_DATE_ISO = re.compile(r"(?<![\d.])(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?![\d.])")
_DATE_CN_FULL = re.compile(
    rf"(?P<y>{_CN_YEAR})\s*(?P<m>{_CN_MONTH})\s*月\s*(?P<d>{_CN_DAY})\s*(?:日|号|號)?(?![\d{_D}])"
)
_DATE_CN_MD = re.compile(
    rf"(?<![\d{_D}年])(?P<m>{_CN_MONTH})\s*月\s*(?:份\s*)?(?P<d>{_CN_DAY})\s*(?:日|号|號)?"
    rf"(?![\d{_D}万千百元块塊%.])"
)
_DATE_CN_MONTH_EDGE = re.compile(rf"(?<![\d{_D}年])(?P<m>{_CN_MONTH})\s*月(?:份)?(?P<edge>底|末|初|中旬|中)")
_DATE_REL_MONTH = re.compile(
    rf"(?P<rel>上上个?月|上个?月|下下个?月|下个?月|本月|这个?月|這個?月|当月|當月|每月)"
    rf"(?:的)?(?:(?P<d>{_CN_DAY})\s*(?:日|号|號)|(?P<edge>底|末|初|中旬|中))"
)
_DATE_MONTH_EDGE_BARE = re.compile(r"(?<![上下本这這当當个個月年\d])(?P<edge>月底|月末|月初|年底|年末|年初)")
_DATE_BARE_DAY = re.compile(
    rf"(?<![A-Za-z\d{_D}第月尾卡账賬帳编編单單工序型])(?P<d>\d{{1,2}}|[{_D}十拾]{{1,3}})\s*(?:号|號|日)"
    r"(?![线線楼樓房门門窗院机機卡位台座栋棟层層室床柜櫃道口码碼字元币幣])"
)
_DATE_DOTTED = re.compile(
    r"(?<![\d.])(?P<m>\d{1,2})\.(?P<d>\d{1,2})(?![\d.])(?P<suffix>\s*(?:号|號|日)(?!元))?"
)
_DOTTED_FOLLOW = re.compile(
    r"\s*(?:那天|当天|當天|那日|那笔|那筆|晚上|早上|上午|下午|中午|凌晨|傍晚|的时候|的時候)"
)
_DOTTED_LEAD = re.compile(r"(?:在|于|於|是|从|從|到|截至|截止|自|on)\s*$", re.IGNORECASE)
_DOTTED_NOT_DATE_AFTER = re.compile(rf"\s*(?:[{_U}{_B}元块塊%％kKwW]|美元|倍|折)")
_DATE_RELATIVE_DAY = re.compile(_alternation(list(_RELATIVE_DAYS)))
_DATE_N_DAYS = re.compile(rf"(?P<n>\d{{1,3}}|[{_D}十]{{1,3}})\s*(?:天|日)\s*(?:之|以)?(?P<dir>前|后|後)")
_DATE_WEEK = re.compile(
    r"(?P<rel>上上|上|下下|下|这|這|本)(?:个|個)?(?:周|週|星期|礼拜|禮拜)(?P<wd>[一二三四五六日天七1-7])"
)
_DATE_EN_RELATIVE = re.compile(rf"(?i)\b(?:{_alternation(list(_EN_RELATIVE_DAYS))})\b")
_DATE_EN_WEEKDAY = re.compile(
    rf"(?i)\b(?P<rel>last|next|this|coming)\s+(?P<wd>{_alternation(list(_EN_WEEKDAYS))})\b"
)
_EN_MONTH_RE = _alternation(list(_EN_MONTHS))
_DATE_EN_MD = re.compile(
    rf"(?i)\b(?P<mon>{_EN_MONTH_RE})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<y>\d{{4}})\b)?"
)
_DATE_EN_DM = re.compile(
    rf"(?i)\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>{_EN_MONTH_RE})\b\.?(?:,?\s+(?P<y>\d{{4}})\b)?"
)
_DATE_EN_DAYS_AGO = re.compile(r"(?i)\b(?P<n>\d{1,3})\s+days?\s+ago\b")


def _month_end(year: int, month: int) -> date:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def _shift_month(day: date, months: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 + months
    return index // 12, index % 12 + 1


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _nearest_year(month: int, day: int, today: date) -> date | None:
    """A month and day without a year: the one of last, this and next year closest to today."""
    candidates = [d for y in (today.year - 1, today.year, today.year + 1) if (d := _safe_date(y, month, day))]
    return min(candidates, key=lambda d: (abs((d - today).days), d > today), default=None)


def _small_number(text: str) -> int | None:
    try:
        value = parse_chinese_number(text)
    except (ValueError, InvalidOperation):
        return None
    return int(value) if value == value.to_integral_value() else None


def _year_of(text: str, today: date) -> int | None:
    relative = {"今年": 0, "去年": -1, "明年": 1, "前年": -2, "后年": 2, "後年": 2}
    if text in relative:
        return today.year + relative[text]
    return int(_digits_of(text.rstrip("年 ")))


def _edge_day(year: int, month: int, edge: str) -> date:
    if edge in {"底", "末"}:
        return _month_end(year, month)
    if edge == "初":
        return date(year, month, 1)
    return date(year, month, 15)  # 中 / 中旬


def _extract_dates(text: str, ctx: _Context) -> Iterator[Entity]:
    today = ctx.today
    lower = text.lower()

    def emit(value: date | None, start: int, end: int) -> Iterator[Entity]:
        if value is not None:
            yield ctx.entity("date", value, start, end)

    for m in _DATE_ISO.finditer(text):
        yield from emit(_safe_date(int(m.group(1)), int(m.group(3)), int(m.group(4))), m.start(), m.end())
    for m in _DATE_CN_FULL.finditer(text):
        year, month, day = (
            _year_of(m.group("y"), today),
            _small_number(m.group("m")),
            _small_number(m.group("d")),
        )
        if year and month and day:
            yield from emit(_safe_date(year, month, day), m.start(), m.end())
    for m in _DATE_CN_MD.finditer(text):
        month = 1 if m.group("m") == "正" else _small_number(m.group("m"))
        day = _small_number(m.group("d"))
        if month and day:
            yield from emit(_nearest_year(month, day, today), m.start(), m.end())
    for m in _DATE_CN_MONTH_EDGE.finditer(text):
        month = 1 if m.group("m") == "正" else _small_number(m.group("m"))
        if month and 1 <= month <= 12:
            anchor = _nearest_year(month, 15, today)
            if anchor:
                yield ctx.entity("date", _edge_day(anchor.year, month, m.group("edge")), m.start(), m.end())
    for m in _DATE_REL_MONTH.finditer(text):
        rel = m.group("rel")
        offset = (
            -2 if rel.startswith("上上") else -1 if rel[0] == "上" else 2 if rel.startswith("下下") else 1
        )
        if rel[0] not in "上下":
            offset = 0
        year, month = _shift_month(today, offset)
        if m.group("edge"):
            yield ctx.entity("date", _edge_day(year, month, m.group("edge")), m.start(), m.end())
        elif (day := _small_number(m.group("d"))) is not None:
            yield from emit(_safe_date(year, month, day), m.start(), m.end())
    for m in _DATE_MONTH_EDGE_BARE.finditer(text):
        edge = m.group("edge")
        if edge[0] == "年":
            value = date(today.year, 12, 31) if edge[1] in "底末" else date(today.year, 1, 1)
        else:
            value = _edge_day(today.year, today.month, edge[1])
        yield ctx.entity("date", value, m.start(), m.end())
    for m in _DATE_BARE_DAY.finditer(text):
        day = _small_number(m.group("d"))
        if day:
            yield from emit(_safe_date(today.year, today.month, day), m.start(), m.end())
    for m in _DATE_DOTTED.finditer(text):
        # 3.5 is a date only in context: 3.5号, 3.5那天, 在3.5… (not 3.5万, 3.5%, 年化3.5).
        followed = m.group("suffix") is not None or bool(_DOTTED_FOLLOW.match(text, m.end()))
        led = bool(_DOTTED_LEAD.search(_window_before(text, m.start(), 4)))
        if not (followed or (led and not _DOTTED_NOT_DATE_AFTER.match(text, m.end()))):
            continue
        month, day = int(m.group("m")), int(m.group("d"))
        if 1 <= month <= 12:
            yield from emit(_nearest_year(month, day, today), m.start(), m.end())
    for m in _DATE_RELATIVE_DAY.finditer(text):
        yield ctx.entity("date", today + timedelta(days=_RELATIVE_DAYS[m.group()]), m.start(), m.end())
    for m in _DATE_N_DAYS.finditer(text):
        n = _small_number(m.group("n"))
        if n is not None and n <= 366:
            sign = -1 if m.group("dir") == "前" else 1
            yield ctx.entity("date", today + timedelta(days=sign * n), m.start(), m.end())
    monday = today - timedelta(days=today.weekday())
    for m in _DATE_WEEK.finditer(text):
        rel = m.group("rel")
        weeks = {"上上": -2, "上": -1, "下下": 2, "下": 1}.get(rel, 0)
        value = monday + timedelta(weeks=weeks, days=_WEEKDAY_ZH[m.group("wd")])
        yield ctx.entity("date", value, m.start(), m.end())

    for m in _DATE_EN_RELATIVE.finditer(text):
        yield ctx.entity(
            "date", today + timedelta(days=_EN_RELATIVE_DAYS[m.group().lower()]), m.start(), m.end()
        )
    for m in _DATE_EN_WEEKDAY.finditer(text):
        weekday, rel = _EN_WEEKDAYS[m.group("wd").lower()], m.group("rel").lower()
        if rel == "last":  # the most recent one before today
            value = today - timedelta(days=(today.weekday() - weekday - 1) % 7 + 1)
        elif rel == "this":  # in this (Monday-based) week
            value = monday + timedelta(days=weekday)
        else:  # next / coming: the first one after today
            value = today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)
        yield ctx.entity("date", value, m.start(), m.end())
    for pattern in (_DATE_EN_MD, _DATE_EN_DM):
        for m in pattern.finditer(text):
            month, day = _EN_MONTHS[m.group("mon").lower()], int(m.group("d"))
            if (
                m.group("mon").lower() == "may"
                and not m.group("y")
                and lower[m.start() - 2 : m.start()] == "i "
            ):
                continue  # "I may 5 ..." is not a date
            if m.group("y"):
                yield from emit(_safe_date(int(m.group("y")), month, day), m.start(), m.end())
            else:
                yield from emit(_nearest_year(month, day, today), m.start(), m.end())
    for m in _DATE_EN_DAYS_AGO.finditer(text):
        yield ctx.entity("date", today - timedelta(days=int(m.group("n"))), m.start(), m.end())


# ---------------------------------------------------------------------------------------------
# Account kinds and products.

_ACCOUNT_KINDS: dict[str, str] = {
    "储蓄卡": "debit_card", "儲蓄卡": "debit_card", "借记卡": "debit_card", "借記卡": "debit_card",
    "储蓄账户": "debit_card", "借记账户": "debit_card", "debit card": "debit_card",
    "savings card": "debit_card",
    "信用卡": "credit_card", "贷记卡": "credit_card", "貸記卡": "credit_card", "credit card": "credit_card",
    "信用咭": "credit_card",
    "工资卡": "salary_card", "工資卡": "salary_card", "代发卡": "salary_card", "salary card": "salary_card",
    "payroll card": "salary_card",
    "副卡": "supplementary_card", "附属卡": "supplementary_card", "supplementary card": "supplementary_card",
    "存折": "passbook", "存摺": "passbook", "passbook": "passbook",
    "社保卡": "social_security_card",
    "一类户": "class_i_account", "一类账户": "class_i_account", "I类户": "class_i_account",
    "I类账户": "class_i_account", "Ⅰ类账户": "class_i_account", "Ⅰ类户": "class_i_account",
    "二类户": "class_ii_account", "二类账户": "class_ii_account", "II类户": "class_ii_account",
    "II类账户": "class_ii_account", "Ⅱ类账户": "class_ii_account", "Ⅱ类户": "class_ii_account",
    "电子账户": "class_ii_account", "電子賬戶": "class_ii_account",
    "三类户": "class_iii_account", "三类账户": "class_iii_account", "III类户": "class_iii_account",
    "III类账户": "class_iii_account", "Ⅲ类账户": "class_iii_account", "Ⅲ类户": "class_iii_account",
    "活期账户": "current_account", "活期賬戶": "current_account", "活期户": "current_account",
    "savings account": "debit_card",
    "定期账户": "time_deposit", "定期存单": "time_deposit", "定期存款": "time_deposit",
    "time deposit": "time_deposit", "fixed deposit": "time_deposit",
}  # fmt: skip
_ACCOUNT_RE = re.compile(
    rf"(?<![A-Za-z])(?i:{_alternation(list(_ACCOUNT_KINDS))})(?![A-Za-z])", re.IGNORECASE
)
_ACCOUNT_LOOKUP = {k.lower(): v for k, v in _ACCOUNT_KINDS.items()}


def _extract_account_refs(text: str, ctx: _Context) -> Iterator[Entity]:
    for m in _ACCOUNT_RE.finditer(text):
        yield ctx.entity("account_ref", _ACCOUNT_LOOKUP[m.group().lower()], m.start(), m.end())


_BRACKETS = str.maketrans({"（": "(", "）": ")", "【": "[", "】": "]", "＋": "+"})


def _matching_key(text: str) -> tuple[str, list[int]]:
    """Text without whitespace, case-folded, with the original index of every kept character."""
    chars: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text.translate(_BRACKETS)):
        if ch.isspace():
            continue
        chars.append(ch.casefold())
        index.append(i)
    return "".join(chars), index


def _extract_products(text: str, ctx: _Context) -> Iterator[Entity]:
    if not ctx.products:
        return
    # A mapping names the value to report for each name (an alias → its product's name).
    value_of = ctx.products if isinstance(ctx.products, Mapping) else {p: p for p in ctx.products}
    key, index = _matching_key(text)
    taken = [False] * len(key)
    names = sorted({p for p in value_of if p.strip()}, key=lambda p: len(_matching_key(p)[0]), reverse=True)
    for name in names:
        needle = _matching_key(name)[0]
        pos = key.find(needle)
        while pos != -1:
            end = pos + len(needle)
            if not any(taken[pos:end]):
                taken[pos:end] = [True] * len(needle)
                yield ctx.entity("product", value_of[name], index[pos], index[end - 1] + 1)
            pos = key.find(needle, pos + 1)


# ---------------------------------------------------------------------------------------------
# The public entry points.


@dataclass(slots=True)
class _Context:
    original: str
    today: date
    products: Sequence[str] | Mapping[str, str]

    def entity(self, type_: EntityType, value: EntityValue, start: int, end: int) -> Entity:
        return Entity(type_, value, self.original[start:end], start, end)


_Extractor = Callable[[str, _Context], Iterator[Entity]]
# Extractor and rank: on overlapping spans the lower rank wins, then the longer span, then the earlier one.
_EXTRACTORS: tuple[tuple[_Extractor, int], ...] = (
    (_extract_long_numbers, 0),
    (_extract_phones, 1),
    (_extract_products, 2),
    (_extract_card_tails, 3),
    (_extract_dates, 4),
    (_extract_amounts, 5),
    (_extract_account_refs, 6),
)


def bank_today() -> date:
    """Today's date at the bank (Asia/Shanghai)."""
    return datetime.now(BANK_TIMEZONE).date()


def extract_entities(
    text: str, *, today: date | None = None, products: Sequence[str] | Mapping[str, str] = ()
) -> list[Entity]:
    """All entities in one customer message, ordered by position, no two overlapping.

    `today` anchors relative dates (昨天, 上周五, next Monday); by default the bank's date in Asia/Shanghai.
    `products` are the product names to look for (longest match first, case and spaces ignored); as a
    mapping, each name gives the value the entity reports (the knowledge base's catalogue maps aliases
    to their product: `lingxi.knowledge.service.get_product_names`).
    """
    if not text:
        return []
    ctx = _Context(original=text, today=today or bank_today(), products=products)
    normalised = text.translate(_FULLWIDTH)
    candidates: list[tuple[int, Entity]] = []
    for extractor, rank in _EXTRACTORS:
        candidates.extend((rank, entity) for entity in extractor(normalised, ctx))
    candidates.sort(key=lambda c: (c[0], -(c[1].end - c[1].start), c[1].start))
    taken = [False] * len(text)
    chosen: list[Entity] = []
    for _, entity in candidates:
        if entity.start >= entity.end or any(taken[entity.start : entity.end]):
            continue
        taken[entity.start : entity.end] = [True] * (entity.end - entity.start)
        chosen.append(entity)
    return sorted(chosen, key=lambda e: e.start)


_MASKERS: dict[str, Callable[[str], str | None]] = {
    "phone": mask_phone,
    "id_number": mask_id_number,
    "card_number": mask_card,
}


def mask_entities_for_log(text: str, entities: Sequence[Entity]) -> str:
    """The message with phone, ID and card numbers masked (138****5678, 1101**********1234,
    6222 **** **** 1234), for logs and analytics.

    Whatever the extractor did not recognise is still passed through `mask_text`, so an ID number
    with a typo in its check digit is masked too.
    """
    out = text
    for entity in sorted(entities, key=lambda e: e.start, reverse=True):
        masker = _MASKERS.get(entity.type)
        if masker is None or not isinstance(entity.value, str):
            continue
        if out[entity.start : entity.end] != entity.text:
            continue  # entities from another text: leave it to mask_text
        out = out[: entity.start] + (masker(entity.value) or "") + out[entity.end :]
    return mask_text(out) or ""
