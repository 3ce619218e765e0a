"""Personal data masking for responses, audit diffs and logs."""

from __future__ import annotations

import io
import logging

import pytest

from lingxi.core.masking import (
    MaskingFilter,
    mask_account,
    mask_card,
    mask_email,
    mask_id_number,
    mask_mapping,
    mask_name,
    mask_phone,
    mask_text,
)


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("6222021234561234", "6222 **** **** 1234"),
        ("6222 0212 3456 1234", "6222 **** **** 1234"),
        ("6222-0212-3456-1234-567", "6222 **** **** 4567"),
        ("1234567", "*******"),
        ("", ""),
        (None, None),
    ],
)
def test_mask_card(raw, masked):
    assert mask_card(raw) == masked


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("13812341234", "138****1234"),
        ("+8613812341234", "+86 138****1234"),
        ("+86 138 1234 1234", "+86 138****1234"),
        ("010-62345678", "010****5678"),  # landline: same rule, digits only
        ("12345", "*****"),
        (None, None),
    ],
)
def test_mask_phone(raw, masked):
    assert mask_phone(raw) == masked


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("110101199003071234", "1101**********1234"),
        ("11010119900307123X", "1101**********123X"),
        ("12345678", "********"),
        (None, None),
    ],
)
def test_mask_id_number(raw, masked):
    assert mask_id_number(raw) == masked


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("张三丰", "张*丰"),
        ("李四", "李*"),
        ("欧阳娜娜", "欧**娜"),
        ("王", "*"),
        ("John Smith", "J*** S****"),
        ("", ""),
    ],
)
def test_mask_name(raw, masked):
    assert mask_name(raw) == masked


def test_mask_email_and_account():
    assert mask_email("wang.xiaoming@example.cn") == "w***@example.cn"
    assert mask_email("not-an-email") == "not-an-email"
    assert mask_account("6217000010012345678") == "****5678"
    assert mask_account("1234") == "****"


def test_mask_text_finds_numbers_in_free_text():
    text = "卡号6222021234561234，身份证110101199003071234，手机13812341234，金额5000元，订单号20261129"
    masked = mask_text(text)
    assert (
        masked
        == "卡号6222 **** **** 1234，身份证1101**********1234，手机138****1234，金额5000元，订单号20261129"
    )
    assert mask_text("card 6222 0212 3456 1234 please") == "card 6222 **** **** 1234 please"
    assert mask_text(None) is None


def test_mask_mapping_for_audit_diffs():
    data = {
        "name": "王小明",
        "phone": "13812341234",
        "id_number": "110101199003071234",
        "card_number": "6222021234561234",
        "email": "xm@example.cn",
        "password": "Secret123",
        "otp": "123456",
        "token": None,
        "note": "客户说手机是13912345678",
        "items": [{"account_number": "6217000010012345678"}, "身份证110101199003071234"],
        "count": 3,
    }
    assert mask_mapping(data) == {
        "name": "王*明",
        "phone": "138****1234",
        "id_number": "1101**********1234",
        "card_number": "6222 **** **** 1234",
        "email": "x***@example.cn",
        "password": "***",
        "otp": "***",
        "token": None,
        "note": "客户说手机是139****5678",
        "items": [{"account_number": "****5678"}, "身份证1101**********1234"],
        "count": 3,
    }


def _logger_with_filter() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger("lingxi.test.masking")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_masking_filter_masks_rendered_log_messages():
    logger, stream = _logger_with_filter()
    logger.info("customer %s sent %r", "13812341234", "my card is 6222021234561234")
    logger.warning("id card 110101199003071234 failed verification")
    logger.info("100%% done, %d items", 3)
    lines = stream.getvalue().splitlines()
    assert lines == [
        "INFO customer 138****1234 sent 'my card is 6222 **** **** 1234'",
        "WARNING id card 1101**********1234 failed verification",
        "INFO 100% done, 3 items",
    ]
    assert "13812341234" not in stream.getvalue()


def test_masking_filter_keeps_broken_records():
    logger, stream = _logger_with_filter()
    record = logger.makeRecord(logger.name, logging.INFO, __file__, 1, "%d apples", ("many",), None)
    assert MaskingFilter().filter(record) is True  # never drops a record, even a malformed one


def test_configure_logging_installs_the_filter():
    from lingxi.core.logging import configure_logging

    configure_logging("WARNING")
    root = logging.getLogger()
    assert root.handlers
    assert all(any(isinstance(f, MaskingFilter) for f in h.filters) for h in root.handlers)


def test_tokens_in_logged_urls_are_masked():
    import logging

    from lingxi.core.masking import MaskingFilter

    record = logging.LogRecord(
        "uvicorn.error",
        logging.INFO,
        __file__,
        1,
        '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5000", "/api/chat/ws?token=eyJhbGciOi.secret.sig&last_id=3"),
        None,
    )
    assert MaskingFilter().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "WebSocket /api/chat/ws?token=***&last_id=3" [accepted]'
    assert isinstance(record.args, tuple)  # uvicorn's access formatter unpacks args
