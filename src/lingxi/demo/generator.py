"""The deterministic generator of the demo bank's customers and their core-banking data.

Determinism: every customer draws from its own seeded `random.Random` streams, so the same inputs give
the same rows on every machine, and one customer's data does not shift another's.

- Profile data (name, ID number, phone, tier, branch, consents, contact points, which products a
  customer holds) depends only on the index of the customer and the fixed `PROFILE_ANCHOR`; the
  customer rows are identical whatever day the demo is loaded.
- Activity (transactions, bills, loan schedules, card expiry, wealth holdings) is laid out relative
  to `today`, so a demo loaded on any day has the last weeks of statements; tests pass a fixed `today`.

Nothing here touches the database: `generate_demo_bank()` returns plain row dictionaries that
`loader.py` inserts in bulk.
"""

from __future__ import annotations

import math
import random
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from lingxi.demo import vocab
from lingxi.demo.numbers import id_check_digit, luhn_check_digit

SEED = "lingxi-demo-bank-v1"
PROFILE_ANCHOR = date(2026, 1, 1)  # ages, customer-since dates and bindings are fixed relative to it
DEFAULT_CUSTOMERS = 240
BANK_TZ = timezone(timedelta(hours=8), "CST")  # China has no daylight saving time
CENT = Decimal("0.01")

T = TypeVar("T")

# Hand-written customers at the top of the list, named in docs/demo.md for demos and tests.
PERSONAS: dict[int, dict[str, Any]] = {
    0: {  # salaried, a credit-card bill due in a few days, WeChat bound
        "name": "张伟",
        "gender": "M",
        "birth": date(1988, 6, 12),
        "branch": "BJ002",
        "tier": "gold",
        "employment": "salary",
        "renting": True,
        "has_ii": True,
        "time_deposits": 0,
        "wechat": True,
        "with_email": True,
        "debit_state": "active",
        "credit": [("gold", "active", "full")],
        "bill_due_in": 4,
        "loans": [],
        "holdings": ["LXCASH01", "LXWX090"],
        "frozen": False,
        "has_usd": False,
        "preferred_channel": "app",
    },
    1: {  # retired, time deposits, phone banking, no WeChat
        "name": "李秀英",
        "gender": "F",
        "birth": date(1957, 3, 8),
        "branch": "SH001",
        "tier": "platinum",
        "employment": "pension",
        "renting": False,
        "has_ii": False,
        "time_deposits": 2,
        "wechat": False,
        "with_email": False,
        "debit_state": "active",
        "credit": [],
        "loans": [],
        "holdings": ["LXAX180", "LXWX090"],
        "frozen": False,
        "has_usd": False,
        "preferred_channel": "ivr",
    },
    2: {  # young renter: lost debit card, consumer loan under review
        "name": "陈思琪",
        "gender": "F",
        "birth": date(1997, 10, 21),
        "branch": "SZ002",
        "tier": "standard",
        "employment": "salary",
        "renting": True,
        "has_ii": True,
        "time_deposits": 0,
        "wechat": True,
        "with_email": True,
        "debit_state": "lost",
        "credit": [("classic", "active", "full")],
        "loans": [("消费贷", "applying")],
        "holdings": [],
        "frozen": False,
        "has_usd": False,
        "preferred_channel": "wechat",
    },
    3: {  # business owner (VIP): business loan repaying, a mortgage application in progress
        "name": "刘志强",
        "gender": "M",
        "birth": date(1979, 1, 30),
        "branch": "CD002",
        "tier": "vip",
        "employment": "business",
        "renting": False,
        "has_ii": True,
        "time_deposits": 1,
        "wechat": True,
        "with_email": True,
        "debit_state": "active",
        "credit": [("platinum", "active", "full")],
        "loans": [("经营贷", "repaying"), ("住房贷款", "applying")],
        "holdings": ["LXGS365", "FDHS300"],
        "frozen": False,
        "has_usd": False,
        "preferred_channel": "app",
    },
    4: {  # English-speaking expatriate
        "name": "James Wilson",
        "gender": "M",
        "birth": date(1984, 9, 2),
        "branch": "SH002",
        "tier": "gold",
        "expat": ("826", "gmail.com"),
        "employment": "salary",
        "renting": True,
        "has_ii": False,
        "time_deposits": 0,
        "wechat": True,
        "with_email": True,
        "debit_state": "active",
        "credit": [("visa", "active", "full")],
        "loans": [],
        "holdings": ["LXCASH01"],
        "frozen": False,
        "has_usd": True,
        "preferred_channel": "app",
    },
    5: {  # private banking: large holdings, closed-period products, a USD account
        "name": "黄嘉怡",
        "gender": "F",
        "birth": date(1976, 12, 5),
        "branch": "SZ001",
        "tier": "private",
        "employment": "business",
        "renting": False,
        "has_ii": True,
        "time_deposits": 2,
        "wechat": True,
        "with_email": True,
        "debit_state": "active",
        "credit": [("infinite", "active", "full")],
        "loans": [("住房贷款", "repaying")],
        "holdings": ["LXSX006", "LXAX180", "FDQDII", "LXPH365", "LXCASH01"],
        "frozen": False,
        "has_usd": True,
        "preferred_channel": "wechat",
    },
    6: {  # overdue credit-card bill, card blocked
        "name": "赵磊",
        "gender": "M",
        "birth": date(1992, 4, 17),
        "branch": "BJ001",
        "tier": "standard",
        "employment": "salary",
        "renting": True,
        "has_ii": False,
        "time_deposits": 0,
        "wechat": True,
        "with_email": False,
        "debit_state": "active",
        "credit": [("classic", "blocked", "overdue")],
        "loans": [("消费贷", "repaying")],
        "holdings": [],
        "frozen": False,
        "has_usd": False,
        "preferred_channel": "app",
    },
    7: {  # student: expired debit card replaced, small balances
        "name": "孙浩然",
        "gender": "M",
        "birth": date(2005, 7, 9),
        "branch": "CD003",
        "tier": "standard",
        "employment": "student",
        "renting": False,
        "has_ii": True,
        "time_deposits": 0,
        "wechat": True,
        "with_email": True,
        "debit_state": "expired_replaced",
        "credit": [],
        "loans": [],
        "holdings": [],
        "frozen": False,
        "has_usd": False,
        "preferred_channel": "webchat",
    },
}


# ----------------------------------------------------------------------------------------------
# Output structures: plain rows for bulk inserts (ids and foreign keys are filled by the loader).


@dataclass
class AccountBundle:
    row: dict[str, Any]
    transactions: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class CardBundle:
    row: dict[str, Any]
    account_index: int | None = None  # index into CustomerBundle.accounts
    transactions: list[dict[str, Any]] = field(default_factory=list)
    bills: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class CustomerBundle:
    customer: dict[str, Any]
    contact_points: list[dict[str, Any]] = field(default_factory=list)
    accounts: list[AccountBundle] = field(default_factory=list)
    cards: list[CardBundle] = field(default_factory=list)
    loans: list[dict[str, Any]] = field(default_factory=list)
    holdings: list[dict[str, Any]] = field(default_factory=list)
    applications: list[dict[str, Any]] = field(default_factory=list)  # demo_service_requests rows


@dataclass
class Plan:
    """What one customer is and holds; drawn from the profile stream only."""

    index: int
    customer_no: str
    name: str
    gender: str
    birth: date
    expat: tuple[str, str] | None
    region: str
    branch: str
    tier: str
    employment: str  # salary | pension | business | student
    renting: bool
    has_ii: bool
    time_deposits: int
    has_usd: bool
    debit_state: str  # active | lost | expired_replaced
    credit: list[tuple[str, str, str]]  # (product key, status, bill behaviour)
    loans: list[tuple[str, str]]  # (product, status)
    holdings: list[str]
    frozen: bool
    wechat: bool
    phone: str
    id_number: str
    id_type: str
    email: str | None
    openid: str | None
    since: date
    consents: tuple[bool, bool, bool]
    preferred_channel: str
    segment: str
    surname: str = ""
    bill_due_in: int | None = None  # days until the latest credit-card bill is due (personas)


# ----------------------------------------------------------------------------------------------
# Small helpers.


def money(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def local_dt(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A bank-local wall-clock time as timezone-aware UTC."""
    return datetime.combine(day, time(hour, minute, second), BANK_TZ).astimezone(UTC)


def weighted(rng: random.Random, items: Sequence[T], weights: Sequence[float]) -> T:
    return rng.choices(items, weights=weights, k=1)[0]


def lognormal_amount(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rng.gauss(0.0, sigma))


def skewed(rng: random.Random, low: float, high: float) -> float:
    """Uniform-ish between low and high, with small amounts more frequent (as on real statements)."""
    return low + (high - low) * rng.random() ** 2


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def month_day(year: int, month: int, day: int) -> date:
    while month < 1:
        month += 12
        year -= 1
    while month > 12:
        month -= 12
        year += 1
    last = (date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day, last))


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


_BRANCH = {b[0]: b for b in vocab.BRANCHES}
_SURNAMES = [s for s, _, _ in vocab.SURNAMES]
_SURNAME_PINYIN = {s: p for s, p, _ in vocab.SURNAMES}
_OPENID_CHARS = string.ascii_letters + string.digits + "_-"


def branch_info(code: str) -> tuple[str, str, str, str, str]:
    return _BRANCH[code]


def _era(year: int) -> str:
    if year <= 1965:
        return "1950s"
    if year <= 1984:
        return "1970s"
    if year <= 1999:
        return "1990s"
    return "2000s"


def chinese_name(rng: random.Random, gender: str, birth_year: int, region: str) -> tuple[str, str, str]:
    """(full name, surname, given name) with surnames weighted by frequency and regional flavour."""
    boost = vocab.SURNAME_REGION_BOOST.get(region, {})
    weights = [w * boost.get(s, 1.0) for s, _, w in vocab.SURNAMES]
    surname = weighted(rng, _SURNAMES, weights)
    era = _era(birth_year)
    pool = vocab.GIVEN_NAMES[era][gender]
    if rng.random() < vocab.SINGLE_NAME_SHARE[era] and len(surname) == 1:
        given = rng.choice(pool["single"])
    else:
        first = rng.choice(pool["first"])
        second = rng.choice(pool["second"])
        while second == first:
            second = rng.choice(pool["second"])
        given = first + second
    return surname + given, surname, given


def _pinyin(text: str) -> str:
    return "".join(vocab.PINYIN.get(ch, "x") for ch in text)


# ----------------------------------------------------------------------------------------------
# Profile: who the customer is (independent of `today`).


class _Registry:
    """Uniqueness across customers (phones, ID numbers, account and card numbers)."""

    def __init__(self) -> None:
        self.phones: set[str] = set()
        self.ids: set[str] = set()
        self.numbers: set[str] = set()

    def unique(self, seen: set[str], draw: Callable[[], str]) -> str:
        value = draw()
        while value in seen:
            value = draw()
        seen.add(value)
        return value


def _draw_age(rng: random.Random, tier: str) -> int:
    bands = [(18, 24), (25, 34), (35, 44), (45, 54), (55, 64), (65, 82)]
    weights = [10, 26, 24, 18, 13, 9] if tier in ("standard", "gold") else [1, 14, 30, 30, 17, 8]
    low, high = weighted(rng, bands, weights)
    return rng.randint(low, high)


def _id_number(
    rng: random.Random, region: str, birth: date, gender: str, expat: tuple[str, str] | None
) -> str:
    seq = rng.randint(0, 49) * 2 + (1 if gender == "M" else 0)
    if expat:  # foreign permanent residence ID card (2023 format): 9 + province + nationality + birth
        body = f"9{vocab.REGION_PROVINCE[region]}{expat[0]}{birth:%Y%m%d}{rng.randint(0, 9)}{seq % 100:02d}"
    else:
        area = rng.choice(vocab.LOCAL_AREAS[region]) if rng.random() < 0.65 else rng.choice(vocab.OTHER_AREAS)
        body = f"{area}{birth:%Y%m%d}{rng.randint(0, 9)}{seq % 100:02d}"
    return body + id_check_digit(body)


def _email(
    rng: random.Random, name: str, surname: str, given: str, birth: date, expat: tuple[str, str] | None
) -> str:
    if expat:
        first, last = name.lower().split()[0], name.lower().split()[-1]
        return (
            f"{first}.{last}@{expat[1]}"
            if rng.random() < 0.7
            else f"{first[0]}{last}{rng.randint(1, 99)}@{expat[1]}"
        )
    domain = weighted(rng, [d for d, _ in vocab.EMAIL_DOMAINS], [w for _, w in vocab.EMAIL_DOMAINS])
    if domain == "qq.com" and rng.random() < 0.6:
        return f"{rng.randint(10_000_000, 2_999_999_999)}@qq.com"
    sp, gp = _SURNAME_PINYIN[surname], _pinyin(given)
    style = rng.randint(0, 3)
    if style == 0:
        return f"{sp}{gp}{birth.year % 100:02d}@{domain}"
    if style == 1:
        return f"{gp}.{sp}@{domain}"
    if style == 2:
        return f"{sp}{gp[0]}{rng.randint(100, 9999)}@{domain}"
    return f"{sp}_{gp}{birth.year}@{domain}"


def _plan(index: int, tier: str, expat: tuple[str, str, str, str] | None, reg: _Registry) -> Plan:
    rng = random.Random(f"{SEED}/profile/{index}")
    persona = PERSONAS.get(index, {})

    def take(key: str, draw: Callable[[], T]) -> T:
        return persona[key] if key in persona else draw()

    tier = take("tier", lambda: tier)
    if "expat" in persona:
        expat_info: tuple[str, str] | None = persona["expat"]
    elif expat:
        expat_info = (expat[2], expat[3])
    else:
        expat_info = None
    if "branch" in persona:
        branch = persona["branch"]
    else:
        regions = list(vocab.REGION_WEIGHTS)
        weights = list(vocab.REGION_WEIGHTS.values())
        if expat_info:  # expatriates live in Beijing, Shanghai and Shenzhen
            weights = [0.35, 0.45, 0.2, 0.0]
        region = weighted(rng, regions, weights)
        branch = rng.choice([b[0] for b in vocab.BRANCHES if b[3] == region])
    region = branch_info(branch)[3]
    gender = take("gender", lambda: expat[1] if expat else rng.choice("MF"))
    if "birth" in persona:
        birth: date = persona["birth"]
    else:
        age = _draw_age(rng, tier)
        birth = PROFILE_ANCHOR - timedelta(days=age * 365 + rng.randint(0, 364))
    if "name" in persona:
        name = persona["name"]
        surname, given = (name[0], name[1:]) if not name.isascii() else ("", name)
    elif expat:
        name, surname, given = expat[0], "", expat[0]
    else:
        name, surname, given = chinese_name(rng, gender, birth.year, region)
    age = age_on(birth, PROFILE_ANCHOR)

    def draw_employment() -> str:
        if age < 23:
            return "student"
        if age >= 60 or (gender == "F" and age >= 55):
            return "pension"
        if rng.random() < (0.05 if tier in ("standard", "gold") else 0.25):
            return "business"
        return "salary"

    employment = take("employment", draw_employment)
    renting = take("renting", lambda: employment in ("salary", "student") and age < 40 and rng.random() < 0.6)
    high = tier in ("platinum", "vip", "private")
    has_ii = take("has_ii", lambda: rng.random() < (0.35 if age < 45 else 0.15))
    time_deposits = take(
        "time_deposits",
        lambda: (
            weighted(rng, [0, 1, 2], [0.6, 0.3, 0.1] if not high else [0.25, 0.45, 0.3])
            + (1 if employment == "pension" and rng.random() < 0.6 else 0)
        ),
    )
    has_usd = take("has_usd", lambda: bool(expat_info) or (high and rng.random() < 0.2))
    debit_state = take(
        "debit_state", lambda: weighted(rng, ["active", "lost", "expired_replaced"], [93, 3, 4])
    )

    def draw_credit() -> list[tuple[str, str, str]]:
        share = {"standard": 0.38, "gold": 0.6, "platinum": 0.75, "vip": 0.85, "private": 0.9}[tier]
        if employment == "student" or rng.random() >= share:
            return []
        if expat_info:
            product = "visa"
        else:
            product = {
                "standard": lambda: weighted(rng, ["classic", "master"], [8, 2]),
                "gold": lambda: weighted(rng, ["gold", "visa", "master"], [6, 2, 2]),
                "platinum": lambda: weighted(rng, ["platinum", "visa"], [7, 3]),
                "vip": lambda: "platinum",
                "private": lambda: "infinite",
            }[tier]()
        cards = [
            (
                product,
                weighted(rng, ["active", "lost", "expired"], [95, 3, 2]),
                weighted(rng, ["full", "minimum", "partial", "overdue"], [75, 12, 8, 5]),
            )
        ]
        if cards[0][2] == "overdue":
            cards[0] = (product, "blocked", "overdue")
        if high and rng.random() < 0.2:
            cards.append(("visa" if product != "visa" else "platinum", "active", "full"))
        return cards

    credit = take("credit", draw_credit)

    def draw_loans() -> list[tuple[str, str]]:
        loans: list[tuple[str, str]] = []
        if 27 <= age <= 56 and employment != "student":
            share = {"standard": 0.12, "gold": 0.25, "platinum": 0.3, "vip": 0.25, "private": 0.1}[tier]
            if rng.random() < share:
                loans.append(("住房贷款", weighted(rng, ["repaying", "applying", "approved"], [85, 10, 5])))
        if employment in ("salary", "business") and rng.random() < 0.12:
            loans.append(
                (
                    "消费贷",
                    weighted(
                        rng, ["repaying", "applying", "approved", "disbursed", "settled"], [55, 15, 5, 5, 20]
                    ),
                )
            )
        if employment == "business" and rng.random() < 0.75:
            loans.append(("经营贷", weighted(rng, ["repaying", "applying"], [70, 30])))
        return loans

    loans = take("loans", draw_loans)

    def draw_holdings() -> list[str]:
        share = {"standard": 0.3, "gold": 0.55, "platinum": 0.8, "vip": 0.95, "private": 1.0}[tier]
        if employment == "student" or rng.random() >= share:
            return []
        count = {"standard": 1, "gold": 2, "platinum": 3, "vip": 4, "private": 6}[tier]
        max_risk = vocab.MAX_RISK_BY_TIER[tier]
        eligible = [
            p[0]
            for p in vocab.WEALTH_PRODUCTS
            if int(p[2][1]) <= max_risk and (p[0] != "LXSX006" or tier in ("vip", "private"))
        ]
        return sorted(rng.sample(eligible, rng.randint(1, min(count, len(eligible)))))

    holdings = take("holdings", draw_holdings)
    frozen = take("frozen", lambda: rng.random() < 0.01)
    wechat = take("wechat", lambda: rng.random() < (0.45 if age >= 60 else 0.64))
    with_email = take("with_email", lambda: bool(expat_info) or rng.random() < (0.55 if age < 45 else 0.25))

    phone = reg.unique(
        reg.phones, lambda: rng.choice(vocab.PHONE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}"
    )
    id_number = reg.unique(reg.ids, lambda: _id_number(rng, region, birth, gender, expat_info))
    email = _email(rng, name, surname or name, given, birth, expat_info) if with_email else None
    openid = "oDemo" + "".join(rng.choice(_OPENID_CHARS) for _ in range(23)) if wechat else None
    earliest = max(add_years(birth, 18), PROFILE_ANCHOR - timedelta(days=20 * 365))
    span = max((PROFILE_ANCHOR - timedelta(days=30) - earliest).days, 1)
    since = earliest + timedelta(days=rng.randint(0, span))
    consents = (rng.random() < 0.45, rng.random() < 0.96, rng.random() < 0.55)

    def draw_channel() -> str:
        if age >= 60 and rng.random() < 0.35:
            return "ivr"
        if wechat and rng.random() < 0.4:
            return "wechat"
        return weighted(rng, ["app", "webchat"], [9, 1])

    preferred_channel = take("preferred_channel", draw_channel)
    if tier in ("vip", "private"):
        segment = "high_net_worth"
    elif tier == "platinum":
        segment = "affluent"
    elif employment == "business" or any(p == "经营贷" for p, _ in loans):
        segment = "small_business"
    elif age < 30:
        segment = "young"
    elif age >= 60:
        segment = "senior"
    else:
        segment = "mass"
    return Plan(
        index=index,
        customer_no=f"C{index + 1:07d}",
        name=name,
        gender=gender,
        birth=birth,
        expat=expat_info,
        region=region,
        branch=branch,
        tier=tier,
        employment=employment,
        renting=renting,
        has_ii=has_ii,
        time_deposits=time_deposits,
        has_usd=has_usd,
        debit_state=debit_state,
        credit=credit,
        loans=loans,
        holdings=holdings,
        frozen=frozen,
        wechat=wechat,
        phone=phone,
        id_number=id_number,
        id_type="foreign_resident" if expat_info else "resident_id",
        email=email,
        openid=openid,
        since=since,
        consents=consents,
        preferred_channel=preferred_channel,
        segment=segment,
        surname=surname,
        bill_due_in=persona.get("bill_due_in"),
    )


def _customer_rows(plan: Plan) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rng = random.Random(f"{SEED}/contact/{plan.index}")
    created = local_dt(plan.since, rng.randint(9, 16), rng.randint(0, 59))
    updated_day = min(plan.since + timedelta(days=rng.randint(30, 2000)), PROFILE_ANCHOR - timedelta(days=1))
    customer = {
        "customer_no": plan.customer_no,
        "name": plan.name,
        "gender": plan.gender,
        "id_type": plan.id_type,
        "id_number": plan.id_number,
        "phone": plan.phone,
        "email": plan.email,
        "birth_date": plan.birth.isoformat(),
        "tier": plan.tier,
        "segment": plan.segment,
        "language": "en" if plan.expat else "zh-CN",
        "preferred_channel": plan.preferred_channel,
        "branch_code": plan.branch,
        "region": branch_info(plan.branch)[2],
        "consent_marketing": plan.consents[0],
        "consent_service_notice": plan.consents[1],
        "consent_data_analysis": plan.consents[2],
        "created_at": created,
        "updated_at": max(created, local_dt(updated_day, rng.randint(8, 20), rng.randint(0, 59))),
    }
    app_day = max(plan.since, date(2016, 3, 1)) + timedelta(days=rng.randint(0, 400))
    app_at = local_dt(
        min(app_day, PROFILE_ANCHOR - timedelta(days=2)), rng.randint(8, 22), rng.randint(0, 59)
    )
    points = [
        {"kind": "app_user", "value": plan.customer_no, "verified_at": app_at, "created_at": app_at},
        {"kind": "phone", "value": plan.phone, "verified_at": created, "created_at": created},
    ]
    if plan.openid:
        wx_day = max(plan.since, date(2018, 6, 1)) + timedelta(days=rng.randint(0, 900))
        wx_at = local_dt(
            min(wx_day, PROFILE_ANCHOR - timedelta(days=1)), rng.randint(8, 22), rng.randint(0, 59)
        )
        points.append(
            {"kind": "wechat_openid", "value": plan.openid, "verified_at": wx_at, "created_at": wx_at}
        )
    return customer, points


# ----------------------------------------------------------------------------------------------
# Activity: accounts, cards, statements, loans and holdings (laid out relative to `today`).

Event = tuple[datetime, Decimal, str, str, str]  # booked_at, amount, counterparty, description, channel

_BALANCE_MEDIAN = {
    "standard": 6_000,
    "gold": 45_000,
    "platinum": 160_000,
    "vip": 700_000,
    "private": 2_600_000,
}
_SALARY = {
    "standard": (5_500, 14_000),
    "gold": (12_000, 28_000),
    "platinum": (22_000, 55_000),
    "vip": (45_000, 120_000),
    "private": (80_000, 220_000),
}
_RENT = {"BJ": (4_200, 9_500), "SH": (4_500, 9_800), "SZ": (3_800, 8_500), "CD": (1_800, 4_200)}
_DEPOSIT = {
    "standard": (10_000, 100_000),
    "gold": (50_000, 300_000),
    "platinum": (100_000, 800_000),
    "vip": (500_000, 3_000_000),
    "private": (1_000_000, 10_000_000),
}
_WEALTH = {"standard": 20_000, "gold": 80_000, "platinum": 250_000, "vip": 800_000, "private": 3_000_000}
_PENSION_DAY = {"BJ": 16, "SH": 10, "SZ": 15, "CD": 12}


class _Activity:
    def __init__(self, plan: Plan, today: date, reg: _Registry) -> None:
        self.plan = plan
        self.today = today
        self.reg = reg
        self.rng = random.Random(f"{SEED}/activity/{plan.index}")
        self.repayments: list[tuple[date, Decimal, str]] = []  # credit-card repayments from the debit account
        self.purchases: list[tuple[date, Decimal, str]] = []  # wealth purchases in the statement window

    # numbers -------------------------------------------------------------------------------
    def account_no(self, kind_code: str) -> str:
        prefix = branch_info(self.plan.branch)[4]

        def draw() -> str:
            body = f"{prefix}{kind_code}{self.rng.randint(0, 10**12 - 1):012d}"
            return body + luhn_check_digit(body)

        return self.reg.unique(self.reg.numbers, draw)

    def card_no(self, bin_: str, length: int) -> str:
        def draw() -> str:
            body = bin_ + "".join(str(self.rng.randint(0, 9)) for _ in range(length - len(bin_) - 1))
            return body + luhn_check_digit(body)

        return self.reg.unique(self.reg.numbers, draw)

    def person_name(self) -> str:
        return chinese_name(self.rng, self.rng.choice("MF"), self.rng.randint(1960, 2000), self.plan.region)[
            0
        ]

    def at(self, day: date, start_hour: int, end_hour: int) -> datetime:
        return local_dt(
            day, self.rng.randint(start_hour, end_hour), self.rng.randint(0, 59), self.rng.randint(0, 59)
        )

    # the whole customer -------------------------------------------------------------------
    def build(self, bundle: CustomerBundle) -> None:
        plan, rng, today = self.plan, self.rng, self.today
        opened = max(plan.since, add_years(plan.birth, 16))
        opened = min(opened, today - timedelta(days=45))
        # wealth holdings first: purchases in the statement window show on the debit account
        bundle.holdings = [self.holding(code) for code in plan.holdings]
        bundle.loans = [self.loan(product, status) for product, status in plan.loans]
        # credit cards next: their repayments show on the debit account
        for product, status, behaviour in plan.credit:
            bundle.cards.append(self.credit_card(product, status, behaviour))
        # I类 account with its debit card(s)
        main = self.debit_account(opened, bundle.loans)
        bundle.accounts.append(main)
        bin_, product = vocab.DEBIT_CARDS[plan.tier]
        validity = 10
        if plan.debit_state == "expired_replaced":
            expired_on = month_day(today.year, today.month - rng.randint(2, 8), 28)
            issued = add_years(expired_on, -validity)
            bundle.cards.insert(
                0, self.card_row(bin_, 19, "debit", product, 0, "expired", issued, expired_on)
            )
            new_issued = expired_on - timedelta(days=rng.randint(10, 40))
            bundle.cards.insert(
                1,
                self.card_row(
                    bin_, 19, "debit", product, 0, "active", new_issued, add_years(new_issued, validity)
                ),
            )
        else:
            issued = max(opened, today - timedelta(days=rng.randint(60, 9 * 365)))
            state = "lost" if plan.debit_state == "lost" else "active"
            bundle.cards.insert(
                0, self.card_row(bin_, 19, "debit", product, 0, state, issued, add_years(issued, validity))
            )
        if plan.has_ii:
            bundle.accounts.append(self.debit_ii_account(opened, main))
        for _ in range(plan.time_deposits):
            bundle.accounts.append(self.time_deposit(opened))
        if plan.has_usd:
            bundle.accounts.append(self.usd_account(opened))

    def card_row(
        self,
        bin_: str,
        length: int,
        kind: str,
        product: str,
        account_index: int | None,
        status: str,
        issued: date,
        expires: date,
        credit_limit: Decimal | None = None,
    ) -> CardBundle:
        row = {
            "card_no": self.card_no(bin_, length),
            "kind": kind,
            "product": product,
            "credit_limit": credit_limit,
            "status": status,
            "expires": f"{expires:%m/%y}",
            "issued_on": issued,
        }
        return CardBundle(row=row, account_index=account_index)

    # deposits ------------------------------------------------------------------------------
    def _apply(self, events: list[Event], target: Decimal) -> tuple[list[dict[str, Any]], Decimal]:
        """Book events in time order from a start balance that ends near `target`, never below zero."""
        ordered = sorted(events, key=lambda e: e[0])
        running = lowest = Decimal("0.00")
        for event in ordered:
            running += event[1]
            lowest = min(lowest, running)
        start = max(target - running, -lowest + money(self.rng.uniform(0, 200)))
        balance = start
        rows: list[dict[str, Any]] = []
        for booked_at, amount, counterparty, description, channel in ordered:
            balance += amount
            rows.append(
                {
                    "booked_at": booked_at,
                    "amount": amount,
                    "balance_after": balance,
                    "counterparty": counterparty,
                    "description": description,
                    "channel": channel,
                }
            )
        return rows, balance

    def debit_account(self, opened: date, loans: list[dict[str, Any]]) -> AccountBundle:
        plan, rng, today = self.plan, self.rng, self.today
        span = rng.randint(30, 60)
        days = [today - timedelta(days=d) for d in range(span, 0, -1)]
        events: list[Event] = []
        low, high = _SALARY[plan.tier]
        salary = rng.uniform(low, high) if plan.employment == "salary" else 0.0
        if plan.expat:
            salary *= 1.6
        employer = rng.choice(vocab.EMPLOYERS[plan.region])
        payday = rng.choice([5, 10, 15, 20, 25, 28])
        rent = round(rng.uniform(*_RENT[plan.region]) / 100) * 100 if plan.renting else 0
        rent_day = rng.randint(1, 10)
        landlord = self.person_name()
        parent = plan.surname + self.person_name()[-2:] if plan.surname else self.person_name()
        allowance = round(rng.uniform(1_500, 3_500) / 100) * 100
        utilities = [(u, rng.randint(3, 27)) for u in vocab.CITY_UTILITIES[plan.region]]
        carrier = next(c for c, prefixes in vocab.CARRIER_BY_PREFIX.items() if plan.phone[:3] in prefixes)
        topup_day = rng.randint(1, 28)
        pension = rng.uniform(3_800, 9_500) if plan.employment == "pension" else 0.0
        intensity = {"student": 1.2, "pension": 0.6, "business": 1.8, "salary": 1.6}[plan.employment]
        if plan.tier in ("vip", "private"):
            intensity += 0.4
        mortgage = [loan for loan in loans if loan["status"] == "repaying" and loan["next_due_on"]]
        merchants = vocab.EVERYDAY_MERCHANTS
        m_weights = [m[6] for m in merchants]
        clients = [e for e in vocab.EMPLOYERS[plan.region] if e != employer]
        for day in days:
            if salary and day.day == payday:
                amount = money(salary * rng.uniform(0.97, 1.03))
                events.append((self.at(day, 9, 11), amount, employer, "代发工资", "auto"))
            if pension and day.day == _PENSION_DAY[plan.region]:
                events.append(
                    (
                        self.at(day, 8, 10),
                        money(pension),
                        vocab.PENSION_PAYERS[plan.region],
                        "代发养老金",
                        "auto",
                    )
                )
            if plan.employment == "student" and day.day == 1:
                events.append(
                    (
                        self.at(day, 10, 21),
                        money(allowance),
                        f"{parent}（{rng.choice(vocab.OTHER_BANKS)}）",
                        "跨行转账-生活费",
                        "mobile",
                    )
                )
            if plan.employment == "business" and rng.random() < 0.18:
                amount = money(skewed(rng, 4_000, 90_000))
                events.append((self.at(day, 9, 17), amount, rng.choice(clients), "对公转入-货款", "online"))
            if plan.employment == "business" and rng.random() < 0.1:
                amount = money(skewed(rng, 3_000, 60_000))
                events.append((self.at(day, 9, 17), -amount, rng.choice(clients), "转账-货款", "mobile"))
            if rent and day.day == rent_day:
                events.append(
                    (self.at(day, 8, 22), -money(rent), f"{landlord}（房租）", "转账-房租", "mobile")
                )
            for (payee, what, u_low, u_high), u_day in utilities:
                if day.day == u_day:
                    events.append(
                        (self.at(day, 2, 5), -money(rng.uniform(u_low, u_high)), payee, f"代扣{what}", "auto")
                    )
            if day.day == topup_day:
                events.append(
                    (
                        self.at(day, 8, 22),
                        -money(rng.choice([50, 100, 100, 200])),
                        f"{carrier} {plan.phone[:3]}****{plan.phone[-4:]}",
                        "话费充值",
                        "mobile",
                    )
                )
            for loan in mortgage:
                due = loan["next_due_on"]
                if day.day == due.day:
                    events.append(
                        (
                            self.at(day, 1, 4),
                            -loan["next_due_amount"],
                            f"{vocab.BANK_NAME} {loan['product']}",
                            "贷款还款",
                            "auto",
                        )
                    )
            count = min(int(rng.expovariate(1 / intensity) + 0.5), 6)
            for _ in range(count):
                name, _cat, m_low, m_high, channel, description, _w = weighted(rng, merchants, m_weights)
                lunch = rng.random() < 0.5
                when = self.at(day, 11, 13) if lunch else self.at(day, 7, 22)
                events.append((when, -money(skewed(rng, m_low, m_high)), name, description, channel))
            if plan.employment != "pension" and rng.random() < 0.12:
                events.append(
                    (
                        self.at(day, 7, 9),
                        -money(rng.uniform(3, 12)),
                        vocab.CITY_TRANSIT[plan.region],
                        "快捷支付-交通卡充值",
                        "quickpay",
                    )
                )
            if rng.random() < 0.04:
                amount = money(rng.choice([200, 500, 1000, 2000]))
                events.append(
                    (
                        self.at(day, 8, 21),
                        -amount,
                        f"{vocab.BANK_NAME}ATM {branch_info(plan.branch)[1]}",
                        "ATM取款",
                        "atm",
                    )
                )
            if rng.random() < 0.035:
                amount = money(skewed(rng, 100, 8_000))
                events.append(
                    (
                        self.at(day, 8, 23),
                        -amount,
                        f"{self.person_name()}（{rng.choice(vocab.OTHER_BANKS)}）",
                        "跨行转账",
                        "mobile",
                    )
                )
            if rng.random() < 0.03:
                amount = money(skewed(rng, 100, 6_000))
                events.append(
                    (
                        self.at(day, 8, 23),
                        amount,
                        f"{self.person_name()}（{rng.choice(vocab.OTHER_BANKS)}）",
                        "跨行转入",
                        "mobile",
                    )
                )
            if day.month in (3, 6, 9, 12) and day.day == 21:
                events.append(
                    (
                        self.at(day, 0, 1),
                        money(rng.uniform(0.5, 3.0) * (1 + _BALANCE_MEDIAN[plan.tier] / 1e4)),
                        vocab.BANK_NAME,
                        "活期结息",
                        "system",
                    )
                )
        for paid_on, amount, tail in self.repayments:
            if days[0] <= paid_on <= days[-1]:
                events.append(
                    (
                        self.at(paid_on, 8, 22),
                        -amount,
                        f"{vocab.BANK_NAME}信用卡 尾号{tail}",
                        "信用卡还款",
                        "mobile",
                    )
                )
        for bought_on, amount, product in self.purchases:
            if days[0] <= bought_on <= days[-1]:
                events.append(
                    (
                        self.at(bought_on, 9, 14),
                        -amount,
                        f"{vocab.BANK_NAME}理财 {product}",
                        "购买理财",
                        "mobile",
                    )
                )
        target = money(lognormal_amount(rng, _BALANCE_MEDIAN[plan.tier], 0.9))
        rows, balance = self._apply(events, target)
        status = "frozen" if plan.frozen else "active"
        row = {
            "account_no": self.account_no("01"),
            "kind": "debit_i",
            "currency": "CNY",
            "balance": balance,
            "available": Decimal("0.00") if plan.frozen else balance,
            "status": status,
            "branch_code": plan.branch,
            "opened_on": opened,
        }
        return AccountBundle(row=row, transactions=rows)

    def debit_ii_account(self, opened: date, main: AccountBundle) -> AccountBundle:
        rng, today = self.rng, self.today
        opened_ii = min(
            max(opened, date(2016, 12, 1)) + timedelta(days=rng.randint(0, 900)), today - timedelta(days=40)
        )
        span = rng.randint(30, 60)
        tail = main.row["account_no"][-4:]
        events: list[Event] = []
        dormant = rng.random() < 0.08
        for offset in range(span, 0, -1):
            if dormant:
                break
            day = today - timedelta(days=offset)
            if day.day == 1 or rng.random() < 0.03:
                amount = money(rng.choice([500, 1000, 2000, 3000]))
                events.append(
                    (self.at(day, 8, 22), amount, f"本人I类账户 尾号{tail}", "本人账户转入", "mobile")
                )
            if rng.random() < 0.25:
                name, _cat, low, high, channel, description, _w = rng.choice(vocab.EVERYDAY_MERCHANTS)
                events.append(
                    (self.at(day, 8, 22), -money(skewed(rng, low, high)), name, description, channel)
                )
        rows, balance = self._apply(events, money(rng.uniform(50, 2_000)))
        row = {
            "account_no": self.account_no("02"),
            "kind": "debit_ii",
            "currency": "CNY",
            "balance": balance,
            "available": balance,
            "status": "dormant" if dormant else "active",
            "branch_code": self.plan.branch,
            "opened_on": opened_ii,
        }
        return AccountBundle(row=row, transactions=rows)

    def time_deposit(self, opened: date) -> AccountBundle:
        rng, today, plan = self.rng, self.today, self.plan
        low, high = _DEPOSIT[plan.tier]
        amount = money(round(skewed(rng, low, high) / 1000) * 1000)
        term_months = rng.choice([3, 6, 12, 24, 36, 60])
        start = today - timedelta(days=rng.randint(5, term_months * 30 - 1))
        start = max(start, opened)
        booked = self.at(start, 9, 16)
        row = {
            "account_no": self.account_no("08"),
            "kind": "time_deposit",
            "currency": "CNY",
            "balance": amount,
            "available": amount,
            "status": "active",
            "branch_code": plan.branch,
            "opened_on": start,
        }
        tx = {
            "booked_at": booked,
            "amount": amount,
            "balance_after": amount,
            "counterparty": vocab.BANK_NAME,
            "description": f"整存整取 {term_months} 个月 开户存入",
            "channel": "counter" if rng.random() < 0.4 else "mobile",
        }
        return AccountBundle(row=row, transactions=[tx])

    def usd_account(self, opened: date) -> AccountBundle:
        rng, today = self.rng, self.today
        start = money(skewed(rng, 800, 60_000))
        events: list[Event] = []
        day = today - timedelta(days=rng.randint(5, 50))
        events.append(
            (self.at(day, 10, 16), money(skewed(rng, 1_000, 12_000)), "境外汇入汇款", "汇入汇款", "online")
        )
        if rng.random() < 0.5:
            day = today - timedelta(days=rng.randint(1, 50))
            events.append(
                (self.at(day, 9, 20), -money(skewed(rng, 200, 3_000)), "个人结汇", "结汇", "mobile")
            )
        rows, balance = self._apply(events, start)
        row = {
            "account_no": self.account_no("05"),
            "kind": "savings",
            "currency": "USD",
            "balance": balance,
            "available": balance,
            "status": "active",
            "branch_code": self.plan.branch,
            "opened_on": min(
                max(opened, date(2019, 1, 1)) + timedelta(days=rng.randint(0, 400)),
                today - timedelta(days=60),
            ),
        }
        return AccountBundle(row=row, transactions=rows)

    # credit cards --------------------------------------------------------------------------
    def credit_card(self, product_key: str, status: str, behaviour: str) -> CardBundle:
        rng, today, plan = self.rng, self.today, self.plan
        bin_, product, limit_low, limit_high = vocab.CREDIT_CARDS[product_key]
        limit = money(round(rng.uniform(limit_low, limit_high) / 1000) * 1000)
        if status == "expired":
            expires = month_day(today.year, today.month - rng.randint(1, 6), 28)
        else:
            expires = month_day(today.year + rng.randint(0, 3), today.month + rng.randint(2, 11), 28)
        issued = add_years(expires, -5)
        card = self.card_row(bin_, 16, "credit", product, None, status, issued, expires, limit)
        tail = card.row["card_no"][-4:]
        statement_day = rng.choice([5, 10, 15, 20, 25])
        if plan.bill_due_in is not None:  # a persona whose latest bill falls due in a few days
            statement_day = min((today + timedelta(days=plan.bill_due_in - 20)).day, 28)
        last = month_day(today.year, today.month, statement_day)
        if last >= today:
            last = month_day(today.year, today.month - 1, statement_day)
        statements = [month_day(last.year, last.month - k, statement_day) for k in (2, 1, 0)]
        per_bill = {
            "standard": (5, 12),
            "gold": (7, 16),
            "platinum": (9, 20),
            "vip": (10, 22),
            "private": (10, 24),
        }
        merchants = vocab.CREDIT_MERCHANTS
        weights = [m[4] for m in merchants]
        purchases: list[tuple[datetime, Decimal, str, str]] = []

        def spend(first: date, last_day: date) -> list[tuple[datetime, Decimal, str, str]]:
            items = []
            days = (last_day - first).days + 1
            for _ in range(rng.randint(*per_bill[plan.tier])):
                name, category, low, high, _w = weighted(rng, merchants, weights)
                when = self.at(first + timedelta(days=rng.randrange(days)), 8, 23)
                items.append((when, money(skewed(rng, low, high)), name, category))
            if rng.random() < 0.15 and items:
                when, amount, name, category = rng.choice(items)
                refund_at = min(when + timedelta(days=2), self.at(last_day, 22, 23))
                items.append((refund_at, -money(float(amount) * rng.choice([0.3, 1.0])), name, "退款"))
            return sorted(items)

        # the repayment behaviour shows on the newest bill already due; older ones were paid in full
        past_due = [i for i, stmt in enumerate(statements) if stmt + timedelta(days=20) < today]
        behaviour_index = past_due[-1] if past_due else -1
        for index, stmt in enumerate(statements):
            previous = month_day(stmt.year, stmt.month - 1, statement_day)
            items = spend(previous + timedelta(days=1), stmt)
            while items and sum(amount for _, amount, _, _ in items) > limit * Decimal("0.95"):
                items.remove(max(items, key=lambda item: item[1]))
            total = max(sum((amount for _, amount, _, _ in items), Decimal("0.00")), Decimal("0.00"))
            due = stmt + timedelta(days=20)
            minimum = (
                min(total, max(money(float(total) * 0.1), Decimal("100.00"))) if total else Decimal("0.00")
            )
            latest = index == behaviour_index
            paid_on: date | None = None
            if due < today:
                if latest and behaviour == "overdue":
                    paid = Decimal("0.00")
                elif latest and behaviour == "minimum":
                    paid, paid_on = minimum, due - timedelta(days=rng.randint(0, 3))
                elif latest and behaviour == "partial":
                    paid, paid_on = (
                        money(float(total) * rng.uniform(0.3, 0.8)),
                        due - timedelta(days=rng.randint(0, 5)),
                    )
                else:
                    paid, paid_on = total, due - timedelta(days=rng.randint(0, 8))
            elif behaviour == "full" and plan.bill_due_in is None and rng.random() < 0.3:
                paid, paid_on = (
                    total,
                    min(today - timedelta(days=1), stmt + timedelta(days=rng.randint(1, 6))),
                )
            else:
                paid = Decimal("0.00")
            if paid_on and paid:
                self.repayments.append((paid_on, paid, tail))
                card.transactions.append(
                    {
                        "booked_at": self.at(paid_on, 8, 22),
                        "amount": paid,
                        "balance_after": None,
                        "counterparty": "本人还款",
                        "description": "还款",
                        "channel": "mobile",
                    }
                )
            card.bills.append(
                {
                    "period": f"{stmt:%Y-%m}",
                    "statement_date": stmt,
                    "due_date": due,
                    "total": total,
                    "minimum_payment": minimum,
                    "paid": paid,
                    "items": [
                        {
                            "date": f"{when.astimezone(BANK_TZ):%Y-%m-%d}",
                            "merchant": name,
                            "amount": str(amount),
                            "category": category,
                        }
                        for when, amount, name, category in items
                    ],
                }
            )
            purchases.extend(items)
        unbilled_from = statements[-1] + timedelta(days=1)
        if unbilled_from < today:
            purchases.extend(spend(unbilled_from, today - timedelta(days=1)))
        for when, amount, name, category in purchases:
            refund = category == "退款"
            card.transactions.append(
                {
                    "booked_at": when,
                    "amount": -amount,
                    "balance_after": None,
                    "counterparty": name,
                    "description": "退款"
                    if refund
                    else ("网上消费" if category in ("网购", "休闲娱乐") else "消费"),
                    "channel": "online" if category in ("网购", "旅游酒店") else "pos",
                }
            )
        card.transactions.sort(key=lambda t: t["booked_at"])
        return card

    # loans ---------------------------------------------------------------------------------
    def loan(self, product: str, status: str) -> dict[str, Any]:
        rng, today, plan = self.rng, self.today, self.plan
        if product == "住房贷款":
            scale = {"BJ": 1.5, "SH": 1.5, "SZ": 1.35, "CD": 0.7}[plan.region]
            principal = round(rng.uniform(600_000, 2_600_000) * scale / 10_000) * 10_000
            term = rng.choice([240, 300, 360])
            rate = rng.choice([3.05, 3.10, 3.15, 3.25, 3.35, 3.45, 3.55, 3.85, 4.10])
        elif product == "消费贷":
            ceiling = {"standard": 80_000, "gold": 150_000, "platinum": 250_000}.get(plan.tier, 300_000)
            principal = round(skewed(rng, 20_000, ceiling) / 1_000) * 1_000
            term = rng.choice([12, 24, 36])
            rate = rng.choice([3.00, 3.20, 3.45, 3.65, 4.20, 5.40, 6.50])
        else:
            principal = round(skewed(rng, 300_000, 2_000_000) / 10_000) * 10_000
            term = rng.choice([12, 24, 36])
            rate = rng.choice([3.15, 3.30, 3.45, 3.80, 4.35])
        monthly_rate = rate / 100 / 12
        payment = principal * monthly_rate / (1 - (1 + monthly_rate) ** -term)
        stage: str | None = None
        next_due: date | None = None
        next_amount: Decimal | None = None
        outstanding = Decimal("0.00")
        if status == "applying":
            applied = today - timedelta(days=rng.randint(2, 25))
            stage = rng.choice(vocab.LOAN_STAGES[product])
        elif status == "approved":
            applied = today - timedelta(days=rng.randint(10, 40))
            stage = "已审批，待放款"
        elif status == "disbursed":
            applied = today - timedelta(days=rng.randint(8, 25))
            stage = "已放款"
            outstanding = money(principal)
            next_due = month_day(today.year, today.month + 1, applied.day)
            next_amount = money(payment)
        elif status == "settled":
            applied = today - timedelta(days=(term + rng.randint(1, 24)) * 30)
            stage = "已结清"
        else:  # repaying
            elapsed = rng.randint(3, max(term - 3, 4) if product != "住房贷款" else min(term - 12, 130))
            applied = month_day(today.year, today.month - elapsed, rng.randint(1, 28))
            paid_months = elapsed - 1
            remaining = principal * (1 + monthly_rate) ** paid_months - payment * (
                ((1 + monthly_rate) ** paid_months - 1) / monthly_rate
            )
            outstanding = money(max(remaining, 0.0))
            next_due = month_day(today.year, today.month, applied.day)
            if next_due <= today:
                next_due = month_day(today.year, today.month + 1, applied.day)
            next_amount = money(payment)
        seq = self.reg.unique(self.reg.numbers, lambda: f"LN{applied:%Y}{rng.randint(0, 10**10 - 1):010d}")
        return {
            "loan_no": seq,
            "product": product,
            "principal": money(principal),
            "outstanding": outstanding,
            "annual_rate": Decimal(f"{rate / 100:.4f}"),
            "term_months": term,
            "status": status,
            "stage": stage,
            "next_due_on": next_due,
            "next_due_amount": next_amount,
            "applied_on": applied,
        }

    # wealth --------------------------------------------------------------------------------
    def holding(self, code: str) -> dict[str, Any]:
        rng, today, plan = self.rng, self.today, self.plan
        _code, name, risk, kind, days, settle, drift_low, drift_high = next(
            p for p in vocab.WEALTH_PRODUCTS if p[0] == code
        )
        amount = max(lognormal_amount(rng, _WEALTH[plan.tier], 0.7), 1_000.0)
        if code == "LXSX006":
            amount = max(amount, 1_000_000.0)
        amount = round(amount / 1_000) * 1_000
        if kind == "closed":
            bought = today - timedelta(days=rng.randint(1, days - 1))
        else:
            bought = today - timedelta(days=rng.randint(5, max(days * 2, 400)))
        held_share = min((today - bought).days / 365, 1.5)
        if kind == "cash":
            buy_nav, nav = 1.0, 1.0
        elif kind == "fund" or kind == "qdii":
            buy_nav = rng.uniform(0.85, 2.6)
            nav = buy_nav * (1 + rng.uniform(drift_low, drift_high) / 100 * max(held_share, 0.1))
        else:
            buy_nav = 1.0
            nav = 1 + rng.uniform(drift_low, drift_high) / 100 * held_share
        units = Decimal(amount / buy_nav).quantize(Decimal("0.0001"))
        redeemable = True
        end = bought + timedelta(days=days)
        if kind == "cash":
            rule = "T+0 快速赎回（单日 1 万元以内实时到账），超出部分 T+1 到账"
            units = Decimal(amount + rng.randint(0, 999)).quantize(Decimal("0.0001"))
        elif kind == "closed":
            rule = f"封闭期至 {end:%Y-%m-%d}，到期后 T+1 自动兑付至活期账户"
            redeemable = False
        elif kind == "min_hold":
            if end > today:
                rule = f"最短持有期至 {end:%Y-%m-%d}，之后可随时赎回，T+{settle} 到账"
                redeemable = False
            else:
                rule = f"已满最短持有期，可随时赎回，T+{settle} 到账"
        elif kind == "periodic":
            opening = bought + timedelta(days=days)
            while opening < today - timedelta(days=4):
                opening += timedelta(days=days)
            redeemable = opening <= today <= opening + timedelta(days=4)
            closing = opening + timedelta(days=4)
            rule = f"每年开放一次，下一开放期 {opening:%Y-%m-%d} 至 {closing:%Y-%m-%d}，赎回 T+{settle} 到账"
        elif kind == "qdii":
            rule = f"QDII 基金，交易日 15:00 前赎回按当日净值，T+{settle} 到账（遇境外节假日顺延）"
        else:
            rule = f"开放式基金，交易日 15:00 前赎回按当日净值，T+{settle} 到账"
            if code == "FDKJCZ":
                rule += "；持有不足 7 天收取 1.5% 赎回费"
        if (today - bought).days <= 60:
            self.purchases.append((bought, money(amount), name))
        return {
            "product_code": code,
            "product_name": name,
            "risk_level": risk,
            "units": units,
            "nav": Decimal(nav).quantize(Decimal("0.0001")),
            "cost": Decimal(amount).quantize(CENT),
            "redeemable": redeemable,
            "redemption_rule": rule,
            "purchased_on": bought,
        }


# ----------------------------------------------------------------------------------------------


def _allocate(count: int) -> tuple[list[str], dict[int, tuple[str, str, str, str]]]:
    """Tiers for every index (≈8.75 % VIP + private) and which indexes are expatriates."""
    rng = random.Random(f"{SEED}/allocation")
    quotas = {
        "private": max(1, round(count * 0.03)),
        "vip": max(1, round(count * 0.06)),
        "platinum": round(count * 0.11),
        "gold": round(count * 0.21),
    }
    for persona in PERSONAS.values():
        if persona["tier"] in quotas and quotas[persona["tier"]] > 0:
            quotas[persona["tier"]] -= 1
    free = [i for i in range(count) if i not in PERSONAS]
    pool = [tier for tier, n in quotas.items() for _ in range(n)]
    pool = (pool + ["standard"] * len(free))[: len(free)]
    rng.shuffle(pool)
    tiers = ["standard"] * count
    for i, persona in PERSONAS.items():
        if i < count:
            tiers[i] = persona["tier"]
    for i, tier in zip(free, pool, strict=True):
        tiers[i] = tier
    persona_names = {p["name"] for p in PERSONAS.values()}
    expats = [e for e in vocab.EXPATS if e[0] not in persona_names]
    expat_slots = sorted(rng.sample(free, min(len(expats), len(free))))
    return tiers, dict(zip(expat_slots, expats, strict=False))


def generate_demo_bank(*, today: date, count: int = DEFAULT_CUSTOMERS) -> list[CustomerBundle]:
    """Every customer of the demo bank with their core-banking data, as plain rows."""
    tiers, expats = _allocate(count)
    reg = _Registry()
    plans = [_plan(i, tiers[i], expats.get(i), reg) for i in range(count)]
    bundles: list[CustomerBundle] = []
    for plan in plans:
        customer, points = _customer_rows(plan)
        bundle = CustomerBundle(customer=customer, contact_points=points)
        _Activity(plan, today, reg).build(bundle)
        bundle.applications = _applications(plan, today)
        bundles.append(bundle)
    return bundles


# Where a credit-card application can stand, as the customer reads it (status, stage).
APPLICATION_STAGES: tuple[tuple[str, str], ...] = (
    ("submitted", "已受理：资料已提交，等待审核"),
    ("reviewing", "审批中：征信审核"),
    ("reviewing", "审批中：电话核实（请留意95xxx来电）"),
    ("approved", "已审批通过：制卡中，预计3个工作日内寄出"),
    ("card_sent", "已寄出：EMS 运单已生成，请留意签收"),
    ("rejected", "未通过：综合评分不足，3个月后可重新申请"),
)


def _applications(plan: Plan, today: date) -> list[dict[str, Any]]:
    """About one customer in nine has a credit-card application in progress (its own random stream,
    so adding applications changed no other demo data)."""
    rng = random.Random(f"application:{plan.customer_no}")
    if rng.random() >= 0.11:
        return []
    status, stage = rng.choice(APPLICATION_STAGES)
    applied = today - timedelta(days=rng.randint(1, 20))
    created = local_dt(applied, rng.randint(9, 21), rng.randint(0, 59))
    updated = min(created + timedelta(days=rng.randint(0, 5), hours=rng.randint(1, 8)), local_dt(today, 8))
    product = rng.choice([p for _, p, _, _ in vocab.CREDIT_CARDS.values()])
    return [
        {
            "reference": f"CC{applied:%Y%m%d}{plan.index:06d}",
            "kind": "credit_card_application",
            "status": status,
            "subject": "",
            "detail": {"product": product, "stage": stage},
            "created_at": created,
            "updated_at": max(created, updated),
        }
    ]
