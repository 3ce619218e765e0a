"""Masking of personal data for responses and logs; revealing is an explicit, audited action elsewhere."""

from __future__ import annotations

import logging
import re
from typing import Any


def mask_card(number: str | None) -> str | None:
    """6222021234561234 -> '6222 **** **** 1234'."""
    if not number:
        return number
    digits = re.sub(r"\D", "", number)
    if len(digits) < 8:
        return "*" * len(digits)
    return f"{digits[:4]} **** **** {digits[-4:]}"


def mask_phone(phone: str | None) -> str | None:
    """13812341234 -> '138****1234' (a +86 prefix is kept)."""
    if not phone:
        return phone
    prefix = ""
    if phone.startswith("+86"):
        prefix, phone = "+86 ", phone[3:].strip()
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 7:
        return prefix + "*" * len(digits)
    return f"{prefix}{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


def mask_id_number(value: str | None) -> str | None:
    """110101199003071234 -> '1101**********1234'."""
    if not value:
        return value
    if len(value) <= 8:
        return "*" * len(value)
    return f"{value[:4]}{'*' * (len(value) - 8)}{value[-4:]}"


def mask_name(name: str | None) -> str | None:
    """张三丰 -> '张*丰', 李四 -> '李*', John Smith -> 'J*** S****'."""
    if not name:
        return name
    if name.isascii():
        return " ".join(part[0] + "*" * (len(part) - 1) for part in name.split())
    if len(name) == 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_email(email: str | None) -> str | None:
    if not email or "@" not in email:
        return email
    local, domain = email.split("@", 1)
    return f"{local[:1]}***@{domain}"


def mask_account(number: str | None) -> str | None:
    """Account numbers show only the last four digits."""
    if not number:
        return number
    digits = re.sub(r"\D", "", number)
    return f"****{digits[-4:]}" if len(digits) > 4 else "*" * len(digits)


# Free text (chat messages in logs, audit diffs): card numbers, ID numbers and phone numbers.
_ID_RE = re.compile(r"(?<!\d)(\d{6})(\d{8})(\d{3}[\dXx])(?!\d)")
_CARD_RE = re.compile(r"(?<!\d)(\d{4})[ -]?(\d{4})[ -]?(\d{4})[ -]?(\d{1,7})(?!\d)")
_PHONE_RE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


def mask_text(text: str | None) -> str | None:
    if not text:
        return text
    text = _ID_RE.sub(lambda m: m.group(1)[:4] + "*" * 10 + m.group(3), text)
    text = _CARD_RE.sub(lambda m: mask_card(m.group(0)) or "", text)
    return _PHONE_RE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


_PII_KEYS = {
    "phone": mask_phone,
    "mobile": mask_phone,
    "card_number": mask_card,
    "id_number": mask_id_number,
    "name": mask_name,
    "full_name": mask_name,
    "email": mask_email,
    "account_number": mask_account,
}


def mask_mapping(data: Any) -> Any:
    """Mask known PII keys and free text in nested dicts/lists (used for audit before/after)."""
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, value in data.items():
            if key in {"password", "password_hash", "code", "code_hash", "otp", "secret", "token"}:
                out[key] = "***" if value is not None else None
            elif key in _PII_KEYS and isinstance(value, str):
                out[key] = _PII_KEYS[key](value)
            else:
                out[key] = mask_mapping(value)
        return out
    if isinstance(data, list):
        return [mask_mapping(v) for v in data]
    if isinstance(data, str):
        return mask_text(data)
    return data


class MaskingFilter(logging.Filter):
    """Masks PII and secrets (card, ID and phone numbers; `token=` query values) in log records.

    Plain string arguments are masked in place, so formatters that read `record.args` (uvicorn's
    access log) keep working; records with other arguments are rendered first, then masked.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and all(isinstance(a, str | int | float) for a in record.args):
            record.args = tuple(mask_log_text(a) if isinstance(a, str) else a for a in record.args)
        elif record.args:
            try:
                record.msg = record.getMessage()
            except (TypeError, ValueError):
                return True
            record.args = None
        if isinstance(record.msg, str):
            record.msg = mask_log_text(record.msg)
        return True


_TOKEN_QUERY_RE = re.compile(r"((?:token|app_token|access_token)=)[^&\s\"']+")


def mask_log_text(text: str) -> str:
    """mask_text plus bearer tokens carried in URLs (WebSocket log-ins put them in the query)."""
    return mask_text(_TOKEN_QUERY_RE.sub(r"\1***", text)) or ""
