"""Slot kinds: what the customer can choose from, and how an answer is understood.

A filled slot is a plain dict stored in the conversation's bot state: `value` (what actions use),
`display` (masked, what the customer, the agent and the logs see) and kind-specific fields that the
flow's templates use ({card.tail}, {holding.rule} …). Card and account numbers are masked in
`display` and never shown whole.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from lingxi.bot.spec import Slot
from lingxi.customers.adapters.core_banking import CoreBanking
from lingxi.nlu.entities import Entity, Money
from lingxi.nlu.text import to_half_width, to_simplified

Value = dict[str, Any]

CARD_KINDS = {"debit": ("借记卡", "debit card"), "credit": ("信用卡", "credit card")}
ACCOUNT_KINDS = {
    "debit_i": ("I类借记账户", "current account"),
    "debit_ii": ("II类电子账户", "e-account"),
    "savings": ("储蓄账户", "savings account"),
    "time_deposit": ("定期存款", "time deposit"),
}
LOAN_STATUSES = {
    "applying": ("审批中", "under review"),
    "approved": ("已审批", "approved"),
    "disbursed": ("已放款", "disbursed"),
    "repaying": ("还款中", "repaying"),
    "settled": ("已结清", "settled"),
}

YES = re.compile(
    r"^(是|是的|对|对的|没错|好|好的|好滴|确认|确定|确认办理|可以|嗯+|恩|行|没问题|办理|办吧|要|需要|同意|"
    r"yes|y|yeah|yep|ok|okay|sure|confirm|go ahead)[!！。.～~]*$",
    re.IGNORECASE,
)
NO = re.compile(
    r"^(不|不是|不用|不用了|不要|不需要|否|先不|先不用|暂时不|暂不|不办|no|n|nope|not now)[!！。.～~]*$",
    re.IGNORECASE,
)
SKIP = re.compile(r"^(跳过|不知道|不清楚|记不清|忘了|skip|don'?t know|not sure)[!！。.]*$", re.IGNORECASE)
_ORDINALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CHOICE_NUMBER = re.compile(r"^(?:第)?([1-9]|[一二两三四五六七八九])(?:个|张|项|笔|条|种|号|\.|、)?$")
_BARE_TAIL = re.compile(r"(?<!\d)(\d{4})(?!\d)")


def _lang(language: str, pair: tuple[str, str]) -> str:
    return pair[1] if language.startswith("en") else pair[0]


def tail(number: str) -> str:
    return number[-4:]


def money_text(amount: Decimal | str, language: str = "zh-CN") -> str:
    value = Decimal(str(amount))
    return f"¥{value:,.2f}" if not language.startswith("en") else f"CNY {value:,.2f}"


def date_text(day: date, language: str = "zh-CN") -> str:
    return day.isoformat() if language.startswith("en") else f"{day.year}年{day.month}月{day.day}日"


def choice_number(text: str) -> int | None:
    """'2', '第二张', '2.' → 2 (1-based); None if the text is not a pick by number."""
    match = _CHOICE_NUMBER.match(normalize_answer(text))
    if not match:
        return None
    token = match.group(1)
    return int(token) if token.isdigit() else _ORDINALS[token]


def normalize(text: str) -> str:
    """For matching answers: half-width, simplified, lower case, no spaces; digits kept."""
    return re.sub(r"\s+", "", to_simplified(to_half_width(text)).lower())


def normalize_answer(text: str) -> str:
    return re.sub(r"\s+", "", text.strip().strip("。.!！~～"))


# --- the customer's items (list kinds) ----------------------------------------------------------------


def _matches(item: Mapping[str, Any], wanted: Mapping[str, str | list[str]]) -> bool:
    for key, allowed in wanted.items():
        options = [allowed] if isinstance(allowed, str) else allowed
        if str(item.get(key)) not in options:
            return False
    return True


async def list_candidates(*, core: CoreBanking, customer_id: int, slot: Slot, language: str) -> list[Value]:
    """The customer's items a list-kind slot can take, as slot values, after the slot's filter."""
    items: list[Value] = []
    if slot.kind == "card":
        for card in await core.list_cards(customer_id):
            kind = _lang(language, CARD_KINDS.get(card.kind, (card.kind, card.kind)))
            items.append(
                {
                    "value": card.card_no,
                    "kind": card.kind,
                    "status": card.status,
                    "tail": tail(card.card_no),
                    "product": card.product,
                    "kind_name": kind,
                    "limit": money_text(card.credit_limit, language) if card.credit_limit is not None else "",
                    "limit_amount": str(card.credit_limit or ""),
                    "display": f"{card.product}（尾号{tail(card.card_no)}）"
                    if not language.startswith("en")
                    else f"{card.product} ending {tail(card.card_no)}",
                }
            )
    elif slot.kind == "account":
        for account in await core.list_accounts(customer_id):
            kind = _lang(language, ACCOUNT_KINDS.get(account.kind, (account.kind, account.kind)))
            items.append(
                {
                    "value": account.account_no,
                    "kind": account.kind,
                    "status": account.status,
                    "currency": account.currency,
                    "tail": tail(account.account_no),
                    "kind_name": kind,
                    "display": f"{kind}（尾号{tail(account.account_no)}）"
                    if not language.startswith("en")
                    else f"{kind} ending {tail(account.account_no)}",
                }
            )
    elif slot.kind == "loan":
        for loan in await core.list_loans(customer_id):
            status = _lang(language, LOAN_STATUSES.get(loan.status, (loan.status, loan.status)))
            items.append(
                {
                    "value": loan.loan_no,
                    "status": loan.status,
                    "status_name": status,
                    "tail": tail(loan.loan_no),
                    "product": loan.product,
                    "stage": loan.stage or status,
                    "outstanding": money_text(loan.outstanding, language),
                    "principal": money_text(loan.principal, language),
                    "applied_on": date_text(loan.applied_on, language),
                    "display": f"{loan.product}（尾号{tail(loan.loan_no)}，{status}）"
                    if not language.startswith("en")
                    else f"{loan.product} ending {tail(loan.loan_no)} ({status})",
                }
            )
    elif slot.kind == "holding":
        for holding in await core.list_wealth_holdings(customer_id):
            if holding.units <= 0:
                continue
            items.append(
                {
                    "value": holding.product_code,
                    "name": holding.product_name,
                    "units": f"{holding.units:,.2f}",
                    "units_raw": str(holding.units),
                    "market_value": money_text(holding.units * holding.nav, language),
                    "rule": holding.redemption_rule,
                    "redeemable": "yes" if holding.redeemable else "no",
                    "risk": holding.risk_level,
                    "display": f"{holding.product_name}（{holding.risk_level}）",
                }
            )
    return [item for item in items if _matches(item, slot.filter)]


# --- understanding an answer -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Parsed:
    value: Value | None = None  # the filled slot
    problem: str | None = None  # understood but not acceptable: say this and ask again
    skipped: bool = False


def _entities_of(entities: Sequence[Entity], kind: str) -> list[Entity]:
    return [e for e in entities if e.type == kind]


def pick_from_list(text: str, entities: Sequence[Entity], candidates: Sequence[Value]) -> Value | None:
    """A list item by its number in the list, its last four digits, a product of the knowledge base's
    catalogue the text names, or the words of its product name."""
    number = choice_number(text)
    if number is not None and 1 <= number <= len(candidates):
        return candidates[number - 1]
    tails = [str(e.value) for e in _entities_of(entities, "card_tail")]
    tails += _BARE_TAIL.findall(text) if not tails else []
    for wanted in tails:
        found = [c for c in candidates if c.get("tail") == wanted]
        if len(found) == 1:
            return found[0]
    named = _by_product(entities, candidates)
    if named is not None:
        return named
    scores = [_name_overlap(text, c) for c in candidates]
    best = max(scores, default=0)
    if best >= 2 and scores.count(best) == 1:
        return candidates[scores.index(best)]
    return None


def _by_product(entities: Sequence[Entity], candidates: Sequence[Value]) -> Value | None:
    """The one item whose product name is a product the text names ("赎回安心理财30天"): the same name
    first, else the one item whose name contains it (灵犀稳享 90 天持有期 → …持有期 3 号)."""
    names = [{normalize(str(c.get(f, ""))) for f in ("product", "name")} - {""} for c in candidates]
    for entity in _entities_of(entities, "product"):
        wanted = {normalize(str(entity.value)), normalize(entity.text)}
        pairs = list(zip(candidates, names, strict=True))
        same = [c for c, own in pairs if wanted & own]
        within = [c for c, own in pairs if any(w in name for w in wanted for name in own)]
        found = same or within
        if len(found) == 1:
            return found[0]
    return None  # none, or several items of that product: the other rules decide


# Words every product name shares: they say nothing about which one the customer means.
_GENERIC = re.compile(r"灵犀|银行|信用卡|借记卡|储蓄卡|账户|理财|产品|那张|这张|那个|这个|的|卡")


def _longest_common(a: str, b: str) -> int:
    best = 0
    for i in range(len(a)):
        for j in range(i + best + 1, len(a) + 1):
            if a[i:j] in b:
                best = j - i
            else:
                break
    return best


def _name_overlap(text: str, candidate: Mapping[str, Any]) -> int:
    """How much of an item's distinctive name the text repeats ("白金卡那张" → 灵犀白金信用卡: 2)."""
    said = _GENERIC.sub(" ", normalize(text))
    best = 0
    for field in ("product", "name", "kind_name"):
        name = _GENERIC.sub(" ", normalize(str(candidate.get(field, ""))))
        for part in name.split():
            best = max(best, _longest_common(part, said))
    return best


def parse_answer(
    *, slot: Slot, text: str, entities: Sequence[Entity], candidates: Sequence[Value], language: str
) -> Parsed:
    answer = normalize_answer(text)
    if slot.optional and SKIP.match(answer):
        return Parsed(value={"value": "", "display": "—"}, skipped=True)
    if slot.kind in ("card", "account", "loan", "holding"):
        picked = pick_from_list(text, entities, candidates)
        return Parsed(value=picked) if picked is not None else Parsed()
    if slot.kind == "choice":
        return _parse_choice(slot, answer, language)
    if slot.kind == "yes_no":
        if YES.match(answer):
            return Parsed(value={"value": "yes", "display": "是" if not language.startswith("en") else "yes"})
        if NO.match(answer):
            return Parsed(value={"value": "no", "display": "否" if not language.startswith("en") else "no"})
        return Parsed()
    if slot.kind == "amount":
        return _parse_amount(slot, text, entities, language)
    if slot.kind == "date":
        dates = _entities_of(entities, "date")
        if not dates or not isinstance(dates[0].value, date):
            return Parsed()
        day = dates[0].value
        return Parsed(value={"value": day.isoformat(), "display": date_text(day, language)})
    if slot.kind == "phone":
        phones = _entities_of(entities, "phone")
        if not phones:
            return Parsed()
        phone = str(phones[0].value)
        return Parsed(value={"value": phone, "tail": phone[-4:], "display": f"{phone[:3]}****{phone[-4:]}"})
    # free text
    if len(answer) < slot.min_length:
        return Parsed()
    clipped = text.strip()[:500]
    return Parsed(value={"value": clipped, "display": clipped[:60]})


def _parse_choice(slot: Slot, answer: str, language: str) -> Parsed:
    number = choice_number(answer)
    if number is not None and 1 <= number <= len(slot.options):
        option = slot.options[number - 1]
        return Parsed(value={"value": option.value, "display": option.label.get(language)})
    key = normalize(answer)
    hits = []
    for option in slot.options:
        words = [option.value, option.label.zh, option.label.en, *option.synonyms]
        if any(normalize(word) and (normalize(word) == key or normalize(word) in key) for word in words):
            hits.append(option)
    if len(hits) == 1:
        return Parsed(value={"value": hits[0].value, "display": hits[0].label.get(language)})
    return Parsed()


def _parse_amount(slot: Slot, text: str, entities: Sequence[Entity], language: str) -> Parsed:
    amounts = [e.value for e in _entities_of(entities, "amount") if isinstance(e.value, Money)]
    amount: Decimal | None = amounts[0].amount if amounts else None
    if amount is None:
        bare = normalize_answer(text).replace(",", "").replace("，", "")
        try:
            amount = Decimal(bare) if re.fullmatch(r"\d+(\.\d{1,2})?", bare) else None
        except InvalidOperation:
            amount = None
    if amount is None:
        return Parsed()
    en = language.startswith("en")
    if slot.min is not None and amount < Decimal(str(slot.min)):
        low = money_text(Decimal(str(slot.min)), language)
        return Parsed(problem=f"The amount must be at least {low}." if en else f"金额不能低于{low}。")
    if slot.max is not None and amount > Decimal(str(slot.max)):
        high = money_text(Decimal(str(slot.max)), language)
        return Parsed(problem=f"The amount must be at most {high}." if en else f"金额不能高于{high}。")
    return Parsed(value={"value": str(amount), "display": money_text(amount, language)})


def options_text(items: Sequence[str]) -> str:
    return "\n".join(f"{i}. {item}" for i, item in enumerate(items, start=1))
