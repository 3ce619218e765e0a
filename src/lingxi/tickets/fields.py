"""Per-type templates of structured fields: what each kind of work order must carry, validated.

A template is data (so the console and the H5 page render the same form the server validates):
`template(type)` lists the fields; `validate_fields(type, raw)` returns the cleaned values (dates and
times as ISO strings, money as a string with two decimals) or raises ValidationFailed naming every
field that is wrong. Unknown fields are refused: a typo must not silently drop information.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from lingxi.core.errors import ValidationFailed
from lingxi.tickets.constants import TYPES

FieldKind = Literal["text", "choice", "date", "datetime", "money", "digits4", "bool"]


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    kind: FieldKind
    zh: str
    en: str
    required: bool = False
    choices: tuple[Choice, ...] = ()
    max_length: int = 200


def _choices(*items: tuple[str, str, str]) -> tuple[Choice, ...]:
    return tuple(Choice(*item) for item in items)


TEMPLATES: dict[str, tuple[FieldSpec, ...]] = {
    "inquiry": (
        FieldSpec("topic", "text", "咨询主题", "Topic", max_length=100),
        FieldSpec("product_name", "text", "涉及产品", "Product", max_length=100),
        FieldSpec(
            "callback_time",
            "choice",
            "方便联系时间",
            "Best time to contact",
            choices=_choices(
                ("anytime", "任意时间", "Any time"),
                ("morning", "上午", "Morning"),
                ("afternoon", "下午", "Afternoon"),
                ("evening", "晚间（21点前）", "Evening (before 21:00)"),
            ),
        ),
    ),
    "request": (
        FieldSpec(
            "request_kind",
            "choice",
            "办理事项",
            "What to do",
            required=True,
            choices=_choices(
                ("card_replacement", "换卡/补卡", "Replace a card"),
                ("statement", "开具流水/对账单", "Statement"),
                ("certificate", "开具证明", "Certificate"),
                ("limit_change", "调整限额", "Change a limit"),
                ("info_update", "更新资料", "Update details"),
                ("phone_change", "修改预留手机号", "Change the registered phone"),
                ("other", "其他", "Other"),
            ),
        ),
        FieldSpec("card_tail4", "digits4", "卡号后四位", "Last 4 digits of the card"),
        FieldSpec(
            "delivery",
            "choice",
            "领取方式",
            "Delivery",
            choices=_choices(
                ("registered_address", "邮寄至预留地址", "Mail to the registered address"),
                ("branch_pickup", "网点自取", "Pick up at a branch"),
            ),
        ),
        FieldSpec("pickup_branch", "text", "自取网点", "Pick-up branch", max_length=20),
        FieldSpec(
            "reason",
            "choice",
            "原因",
            "Reason",
            choices=_choices(
                ("damaged", "卡片损坏/消磁", "Damaged or demagnetised"),
                ("expiring", "即将到期", "Expiring"),
                ("other", "其他", "Other"),
            ),
        ),
    ),
    "complaint": (
        FieldSpec(
            "complaint_about",
            "choice",
            "投诉对象",
            "About",
            required=True,
            choices=_choices(
                ("staff_service", "服务态度", "Staff service"),
                ("fees", "收费", "Fees"),
                ("product", "产品", "A product"),
                ("process", "业务流程", "A process"),
                ("system", "系统故障", "A system fault"),
                ("marketing", "营销骚扰", "Unwanted marketing"),
                ("other", "其他", "Other"),
            ),
        ),
        FieldSpec("incident_date", "date", "发生日期", "Date it happened", required=True),
        FieldSpec("branch_code", "text", "涉及网点", "Branch concerned", max_length=20),
        FieldSpec("amount_involved", "money", "涉及金额（元）", "Amount involved (CNY)"),
        FieldSpec("desired_outcome", "text", "诉求", "What you expect", required=True, max_length=500),
    ),
    "fraud": (
        FieldSpec("incident_at", "datetime", "发生时间", "When it happened", required=True),
        FieldSpec("amount", "money", "涉及金额（元）", "Amount (CNY)", required=True),
        FieldSpec(
            "loss_channel",
            "choice",
            "发生途径",
            "How it happened",
            required=True,
            choices=_choices(
                ("card_present", "刷卡消费", "Card payment"),
                ("online_payment", "网上支付", "Online payment"),
                ("transfer_scam", "诱导转账", "Induced transfer"),
                ("phone_scam", "电话诈骗", "Phone scam"),
                ("atm", "ATM 取现", "ATM withdrawal"),
                ("other", "其他", "Other"),
            ),
        ),
        FieldSpec("card_tail4", "digits4", "卡号后四位", "Last 4 digits of the card"),
        FieldSpec("card_frozen", "bool", "卡片是否已冻结", "Card already frozen"),
        FieldSpec("police_report_no", "text", "报案回执号", "Police report number", max_length=40),
    ),
    "technical": (
        FieldSpec(
            "platform",
            "choice",
            "使用渠道",
            "Platform",
            required=True,
            choices=_choices(
                ("ios", "手机银行 iOS", "App on iOS"),
                ("android", "手机银行 Android", "App on Android"),
                ("web", "网上银行", "Online banking"),
                ("wechat", "微信银行", "WeChat banking"),
                ("atm", "ATM/自助设备", "ATM / self-service"),
                ("pos", "POS 刷卡", "Card terminal"),
            ),
        ),
        FieldSpec("app_version", "text", "App 版本", "App version", max_length=20),
        FieldSpec("error_code", "text", "错误提示/代码", "Error message or code", max_length=100),
        FieldSpec("occurred_at", "datetime", "发生时间", "When it happened"),
    ),
}
assert set(TEMPLATES) == set(TYPES)

_DIGITS4 = re.compile(r"^\d{4}$")
_MONEY_MAX = Decimal("100000000")


def template(ticket_type: str) -> tuple[FieldSpec, ...]:
    if ticket_type not in TEMPLATES:
        raise ValidationFailed(
            f"Unknown work-order type '{ticket_type}'; use one of {', '.join(TYPES)}.", code="bad_ticket_type"
        )
    return TEMPLATES[ticket_type]


def _clean(spec: FieldSpec, value: Any) -> Any:
    """The cleaned value, or raise ValueError with what is wrong (in English, for the details list)."""
    if spec.kind == "text":
        if not isinstance(value, str):
            raise ValueError("must be text")
        value = value.strip()
        if len(value) > spec.max_length:
            raise ValueError(f"at most {spec.max_length} characters")
        return value
    if spec.kind == "choice":
        allowed = [c.value for c in spec.choices]
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return value
    if spec.kind == "digits4":
        if not isinstance(value, str) or not _DIGITS4.match(value):
            raise ValueError("must be exactly 4 digits")
        return value
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    if spec.kind == "money":
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError("must be an amount such as 1280.50")
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise ValueError("must be an amount such as 1280.50") from None
        if not amount.is_finite() or amount < 0 or amount >= _MONEY_MAX:
            raise ValueError("must be between 0 and 99,999,999.99")
        return str(amount.quantize(Decimal("0.01")))
    if spec.kind == "date":
        if not isinstance(value, str):
            raise ValueError("must be a date such as 2026-11-28")
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise ValueError("must be a date such as 2026-11-28") from None
    # datetime
    if not isinstance(value, str):
        raise ValueError("must be a time such as 2026-11-28T14:30:00+08:00")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("must be a time such as 2026-11-28T14:30:00+08:00") from None
    if moment.tzinfo is None:
        raise ValueError("needs a time zone, e.g. +08:00")
    return moment.isoformat()


def validate_fields(ticket_type: str, raw: dict[str, Any] | None) -> dict[str, Any]:
    """Check `raw` against the type's template; returns the cleaned fields (empty values dropped)."""
    specs = {spec.name: spec for spec in template(ticket_type)}
    raw = dict(raw or {})
    problems: list[dict[str, str]] = []
    for name in sorted(set(raw) - set(specs)):
        problems.append({"field": f"fields.{name}", "problem": f"not a field of a {ticket_type} order"})
    cleaned: dict[str, Any] = {}
    for name, spec in specs.items():
        value = raw.get(name)
        if value is None or value == "":
            if spec.required:
                problems.append({"field": f"fields.{name}", "problem": "required"})
            continue
        try:
            cleaned[name] = _clean(spec, value)
        except ValueError as exc:
            problems.append({"field": f"fields.{name}", "problem": str(exc)})
    if problems:
        names = ", ".join(p["field"] for p in problems)
        raise ValidationFailed(
            f"The {ticket_type} order's fields are not right: check {names}.",
            code="bad_ticket_fields",
            details=problems,
        )
    return cleaned


def field_labels(ticket_type: str, fields: dict[str, Any], language: str) -> list[tuple[str, str]]:
    """(label, display value) pairs in the template's order, for people to read."""
    english = language.startswith("en")
    out: list[tuple[str, str]] = []
    for spec in TEMPLATES.get(ticket_type, ()):
        if spec.name not in fields:
            continue
        value = fields[spec.name]
        if spec.kind == "choice":
            choice = next((c for c in spec.choices if c.value == value), None)
            shown = (choice.en if english else choice.zh) if choice else str(value)
        elif spec.kind == "bool":
            shown = ("yes" if value else "no") if english else ("是" if value else "否")
        else:
            shown = str(value)
        out.append((spec.en if english else spec.zh, shown))
    return out


def prefill_fields(ticket_type: str, values: dict[str, Any]) -> dict[str, Any]:
    """The values (e.g. the bot's slots) that are valid fields of the type's template; others are left
    out for a person to fill in rather than failing the whole form."""
    out: dict[str, Any] = {}
    for spec in TEMPLATES.get(ticket_type, ()):
        if values.get(spec.name) in (None, ""):
            continue
        try:
            out[spec.name] = _clean(spec, values[spec.name])
        except ValueError:
            continue
    return out
