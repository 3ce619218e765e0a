"""Entity extraction: one table per entity type, with the tricky cases and the negatives."""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from lingxi.demo.numbers import id_check_digit, luhn_check_digit
from lingxi.nlu.entities import (
    Entity,
    Money,
    bank_today,
    extract_entities,
    is_luhn_valid,
    is_valid_id_number,
    mask_entities_for_log,
    parse_chinese_number,
)

TODAY = date(2026, 3, 18)  # a Wednesday
ROOT = Path(__file__).resolve().parents[2]

# Valid numbers are built with the demo bank's check-digit helpers, an independent implementation.
ID_18 = "11010519900307123" + id_check_digit("11010519900307123")  # 110105199003071239
ID_18_X = "44030419850612102X"
ID_15 = "430421850612002"  # legacy: born 1985-06-12, no check digit
CARD_19 = "622202100012345678" + luhn_check_digit("622202100012345678")
CARD_16 = "625906001234567" + luhn_check_digit("625906001234567")
PRODUCTS = ("灵犀现金宝 A", "灵犀现金宝", "灵犀稳享 90 天持有期 3 号", "灵犀白金信用卡", "Global Tech QDII")


def found(text: str, kind: str | None = None, **kwargs: object) -> list[tuple[str, object, str]]:
    entities = extract_entities(text, today=TODAY, **kwargs)  # type: ignore[arg-type]
    return [(e.type, e.value, e.text) for e in entities if kind is None or e.type == kind]


def test_fixture_numbers_are_what_they_claim():
    assert ID_18 == "110105199003071239"
    assert is_valid_id_number(ID_18) and is_valid_id_number(ID_18_X) and is_valid_id_number(ID_15)
    assert is_valid_id_number(ID_18_X.lower())
    assert id_check_digit(ID_18_X[:17]) == "X"
    assert is_luhn_valid(CARD_19) and is_luhn_valid(CARD_16)
    assert not is_luhn_valid(CARD_16[:-1] + str((int(CARD_16[-1]) + 1) % 10))
    assert not is_valid_id_number(ID_18[:-1] + "0")  # wrong check digit
    assert not is_valid_id_number("110105199002301231")  # 30 February


# ---------------------------------------------------------------------------------------------
# Chinese numerals


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("零", "0"),
        ("五", "5"),
        ("十", "10"),
        ("十五", "15"),
        ("二十", "20"),
        ("二十五", "25"),
        ("一百零五", "105"),
        ("一百二十", "120"),
        ("一百二", "120"),  # colloquial: the last digit takes the next lower unit
        ("三百五", "350"),
        ("两千五", "2500"),
        ("两千五百", "2500"),
        ("一千零一十", "1010"),
        ("三千零五十", "3050"),
        ("一万五", "15000"),
        ("一万五千", "15000"),
        ("一万两", "12000"),
        ("两万零五百", "20500"),
        ("十万", "100000"),
        ("十二万五千", "125000"),
        ("一百二十万", "1200000"),
        ("千万", "10000000"),
        ("一亿二", "120000000"),
        ("三亿五千万", "350000000"),
        ("一万亿", "1000000000000"),
        ("1.5万", "15000"),
        ("0.5万", "5000"),
        ("3万", "30000"),
        ("3万5千", "35000"),
        ("2万5", "25000"),
        ("1万2千", "12000"),
        ("3千", "3000"),
        ("一点五万", "15000"),
        ("三点五", "3.5"),
        ("2,000", "2000"),
        ("1,234,567.89", "1234567.89"),
        ("19.9", "19.9"),
        ("10w", "100000"),
        ("5k", "5000"),
        ("半", "0.5"),
        ("两个半", "2.5"),
        ("一万半", "15000"),
        ("六六八八", "6688"),
        ("二〇二六", "2026"),
        ("幺三八", "138"),
        ("壹万贰仟", "12000"),
        ("伍佰", "500"),
        ("兩萬", "20000"),
        ("拾", "10"),
        (" 三百 ", "300"),
    ],
)
def test_parse_chinese_number(text, value):
    assert parse_chinese_number(text) == Decimal(value)


def test_parse_chinese_number_tidy_representation():
    assert str(parse_chinese_number("1.5万")) == "15000"
    assert str(parse_chinese_number("0.50")) == "0.5"


@pytest.mark.parametrize("text", ["", "  ", "abc", "三五块", "3五", "半三", "万千五", "12期", "一,二"])
def test_parse_chinese_number_rejects(text):
    with pytest.raises(ValueError):
        parse_chinese_number(text)


# ---------------------------------------------------------------------------------------------
# Card tails


@pytest.mark.parametrize(
    ("text", "tail", "span"),
    [
        ("尾号6688的卡找不到了", "6688", "尾号6688"),
        ("尾号为0921的信用卡", "0921", "尾号为0921"),
        ("尾号是 3302", "3302", "尾号是 3302"),
        ("卡号后四位是1234", "1234", "卡号后四位是1234"),
        ("末四位 1234", "1234", "末四位 1234"),
        ("卡的末尾5520", "5520", "卡的末尾5520"),
        ("尾数：7788", "7788", "尾数：7788"),
        ("尾號8812", "8812", "尾號8812"),
        ("尾号六六八八", "6688", "尾号六六八八"),
        ("尾号６６８８", "6688", "尾号６６８８"),  # full-width digits; the span is the original text
        ("my card ending in 1234", "1234", "ending in 1234"),
        ("card ending 4421 is missing", "4421", "ending 4421"),
        ("the one that ends with 0815", "0815", "ends with 0815"),
        ("last 4 digits are 9876", "9876", "last 4 digits are 9876"),
        ("last four digits: 5566", "5566", "last four digits: 5566"),
        ("6222 **** **** 1234", "1234", "**** 1234"),
        ("卡号****8899", "8899", "****8899"),
    ],
)
def test_card_tail(text, tail, span):
    assert found(text, "card_tail") == [("card_tail", tail, span)]


@pytest.mark.parametrize(
    "text",
    [
        "手机尾号5678的那个号码",  # a phone number's tail
        "预留手机号后四位1234",
        "尾号12345",  # five digits is not a card tail
        "尾号是多少",
        "ending soon",
    ],
)
def test_card_tail_negatives(text):
    assert found(text, "card_tail") == []


def test_card_tail_is_not_an_amount_or_date():
    assert found("尾号1234的卡转了2000元") == [
        ("card_tail", "1234", "尾号1234"),
        ("amount", Money(Decimal(2000)), "2000元"),
    ]


# ---------------------------------------------------------------------------------------------
# Amounts


@pytest.mark.parametrize(
    ("text", "amount", "currency", "span"),
    [
        ("一万五千", "15000", "CNY", "一万五千"),
        ("借一万五", "15000", "CNY", "一万五"),
        ("1.5万", "15000", "CNY", "1.5万"),
        ("3万块", "30000", "CNY", "3万块"),
        ("¥2,000", "2000", "CNY", "¥2,000"),
        ("￥ 88.50", "88.5", "CNY", "￥ 88.50"),
        ("2000元", "2000", "CNY", "2000元"),
        ("两千五", "2500", "CNY", "两千五"),
        ("五百块钱", "500", "CNY", "五百块钱"),
        ("RMB 300", "300", "CNY", "RMB 300"),
        ("rmb300", "300", "CNY", "rmb300"),
        ("人民币三万", "30000", "CNY", "人民币三万"),
        ("$50", "50", "USD", "$50"),
        ("US$ 1,200.50", "1200.5", "USD", "US$ 1,200.50"),
        ("50 USD", "50", "USD", "50 USD"),
        ("50 dollars", "50", "USD", "50 dollars"),
        ("100美金", "100", "USD", "100美金"),
        ("5万美元", "50000", "USD", "5万美元"),
        ("50刀", "50", "USD", "50刀"),
        ("2万港币", "20000", "HKD", "2万港币"),
        ("HK$500", "500", "HKD", "HK$500"),
        ("€20", "20", "EUR", "€20"),
        ("欧元500", "500", "EUR", "欧元500"),
        ("500日元", "500", "JPY", "500日元"),
        ("300 yuan", "300", "CNY", "300 yuan"),
        ("why was I charged 15 yuan", "15", "CNY", "15 yuan"),
        ("三块五", "3.5", "CNY", "三块五"),
        ("两块五毛", "2.5", "CNY", "两块五毛"),
        ("2元5角3分", "2.53", "CNY", "2元5角3分"),
        ("三块半", "3.5", "CNY", "三块半"),
        ("五毛钱", "0.5", "CNY", "五毛"),
        ("一百零五块", "105", "CNY", "一百零五块"),
        ("100多块", "100", "CNY", "100多块"),
        ("1,000,000元", "1000000", "CNY", "1,000,000元"),
        ("一点五万", "15000", "CNY", "一点五万"),
        ("三亿五千万", "350000000", "CNY", "三亿五千万"),
        ("10万元", "100000", "CNY", "10万元"),
        ("I want to transfer 200k", "200000", "CNY", "200k"),
        ("转了2000给错的人", "2000", "CNY", "2000"),  # a bare number after a money verb
        ("上周三扣了我一笔19.9", "19.9", "CNY", "19.9"),
        ("额度8000太低了", "8000", "CNY", "8000"),
        ("每期还1500", "1500", "CNY", "1500"),
        ("收了我600年费", "600", "CNY", "600"),
        ("借20万三年", "200000", "CNY", "20万"),  # the 三 counts the years
        ("3万块分24期手续费多少", "30000", "CNY", "3万块"),
        ("sent 500 to the wrong account", "500", "CNY", "500"),
    ],
)
def test_amount(text, amount, currency, span):
    assert found(text, "amount") == [("amount", Money(Decimal(amount), currency), span)]


def test_amount_value_is_decimal_with_currency():
    (entity,) = extract_entities("$50", today=TODAY)
    assert isinstance(entity.value, Money)
    assert entity.value.amount == Decimal(50) and isinstance(entity.value.amount, Decimal)
    assert entity.value.currency == "USD"
    assert str(entity.value) == "50 USD"


def test_several_amounts():
    assert [e[1] for e in found("额度从2万提到5万", "amount")] == [
        Money(Decimal(20000)),
        Money(Decimal(50000)),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "2026年",  # a year, not 2026 yuan
        "2026年的账单",
        "我今年35岁",
        "95588",  # the bank's service number
        "打95588问过了",
        "分12期每个月还多少",
        "分3期",
        "3万积分能换什么",
        "千万别转账",  # "by all means"
        "万一被盗刷了",  # "in case"
        "十分感谢",
        "十万火急！卡丢了",
        "我们一块去网点",  # 一块 = "together"
        "帮我砍一刀",
        "年化3.5%",
        "利率3.1",
        "第一次办卡",
        "一个半小时",
        "转账3次都失败",
        "5kg",
        "登录报错E1003",
        "工单号GD20260301001",
        "收到10086的短信",
        "几百块",
    ],
)
def test_amount_negatives(text):
    assert found(text, "amount") == []


# ---------------------------------------------------------------------------------------------
# Dates (today is Wednesday 2026-03-18)


@pytest.mark.parametrize(
    ("text", "value", "span"),
    [
        ("2026-03-05", date(2026, 3, 5), "2026-03-05"),
        ("2026/3/5", date(2026, 3, 5), "2026/3/5"),
        ("2026.03.05", date(2026, 3, 5), "2026.03.05"),
        ("2026年3月5日转了3万块", date(2026, 3, 5), "2026年3月5日"),
        ("二〇二六年三月五日", date(2026, 3, 5), "二〇二六年三月五日"),
        ("去年12月3号", date(2025, 12, 3), "去年12月3号"),
        ("3月5日", date(2026, 3, 5), "3月5日"),
        ("三月五号", date(2026, 3, 5), "三月五号"),
        ("十二月二十五日", date(2025, 12, 25), "十二月二十五日"),  # the nearest 25 December
        ("12月28日那笔", date(2025, 12, 28), "12月28日"),
        ("9月1号开学", date(2026, 9, 1), "9月1号"),
        ("3.5号那笔", date(2026, 3, 5), "3.5号"),
        ("3.5那天在超市", date(2026, 3, 5), "3.5"),
        ("在3.5转的", date(2026, 3, 5), "3.5"),
        ("今天", date(2026, 3, 18), "今天"),
        ("明天能到吗", date(2026, 3, 19), "明天"),
        ("昨天在超市", date(2026, 3, 17), "昨天"),
        ("昨晚", date(2026, 3, 17), "昨晚"),
        ("前天", date(2026, 3, 16), "前天"),
        ("大前天", date(2026, 3, 15), "大前天"),
        ("后天", date(2026, 3, 20), "后天"),
        ("两天前", date(2026, 3, 16), "两天前"),
        ("3天后", date(2026, 3, 21), "3天后"),
        ("上周五", date(2026, 3, 13), "上周五"),
        ("上个星期五", date(2026, 3, 13), "上个星期五"),
        ("上礼拜天", date(2026, 3, 15), "上礼拜天"),
        ("上上周三", date(2026, 3, 4), "上上周三"),
        ("下周一", date(2026, 3, 23), "下周一"),
        ("下个礼拜五", date(2026, 3, 27), "下个礼拜五"),
        ("这周五", date(2026, 3, 20), "这周五"),
        ("本周日", date(2026, 3, 22), "本周日"),
        ("下个月10号", date(2026, 4, 10), "下个月10号"),
        ("下月10日", date(2026, 4, 10), "下月10日"),
        ("上个月5号", date(2026, 2, 5), "上个月5号"),
        ("本月15号", date(2026, 3, 15), "本月15号"),
        ("这个月二十号", date(2026, 3, 20), "这个月二十号"),
        ("月底", date(2026, 3, 31), "月底"),
        ("月初", date(2026, 3, 1), "月初"),
        ("上个月底", date(2026, 2, 28), "上个月底"),
        ("下月初", date(2026, 4, 1), "下月初"),
        ("一月底", date(2026, 1, 31), "一月底"),
        ("年底", date(2026, 12, 31), "年底"),
        ("还款日是15号", date(2026, 3, 15), "15号"),
        ("二十五号还款", date(2026, 3, 25), "二十五号"),
        ("yesterday", date(2026, 3, 17), "yesterday"),
        ("Today", date(2026, 3, 18), "Today"),
        ("tomorrow", date(2026, 3, 19), "tomorrow"),
        ("the day before yesterday", date(2026, 3, 16), "the day before yesterday"),
        ("last Friday", date(2026, 3, 13), "last Friday"),
        ("last tuesday", date(2026, 3, 17), "last tuesday"),
        ("next Monday", date(2026, 3, 23), "next Monday"),
        ("next wednesday", date(2026, 3, 25), "next wednesday"),
        ("this Friday", date(2026, 3, 20), "this Friday"),
        ("March 5", date(2026, 3, 5), "March 5"),
        ("Mar 5th, 2026", date(2026, 3, 5), "Mar 5th, 2026"),
        ("5 March 2025", date(2025, 3, 5), "5 March 2025"),
        ("on the 5th of March", date(2026, 3, 5), "5th of March"),
        ("December 30", date(2025, 12, 30), "December 30"),
        ("3 days ago", date(2026, 3, 15), "3 days ago"),
    ],
)
def test_date(text, value, span):
    assert found(text, "date") == [("date", value, span)]


def test_relative_dates_cross_month_and_year_ends():
    new_year = date(2026, 1, 2)  # a Friday
    assert extract_entities("前天", today=new_year)[0].value == date(2025, 12, 31)
    assert extract_entities("上个月10号", today=new_year)[0].value == date(2025, 12, 10)
    assert extract_entities("上周一", today=new_year)[0].value == date(2025, 12, 22)
    assert extract_entities("下个月底", today=date(2026, 1, 31))[0].value == date(2026, 2, 28)
    assert extract_entities("last Friday", today=new_year)[0].value == date(2025, 12, 26)
    assert extract_entities("next Friday", today=new_year)[0].value == date(2026, 1, 9)


def test_impossible_dates_are_dropped():
    assert found("2026年2月30日", "date") == []
    assert found("下个月31号", "date") == []  # April has 30 days


@pytest.mark.parametrize(
    "text",
    [
        "1号线地铁站",
        "5号窗口",
        "3号楼",
        "周五转的钱",  # a bare weekday could be last or next: left out
        "5月份的账单",  # a month is not a day
        "500日元",
        "年化3.5%",
        "3.5万",
        "利率3.1",
        "尾号1234",
        "I may 5 times try",
    ],
)
def test_date_negatives(text):
    assert found(text, "date") == []


def test_default_today_is_the_bank_date():
    before = bank_today()
    (entity,) = extract_entities("今天")
    assert entity.value in {before, bank_today()}


# ---------------------------------------------------------------------------------------------
# Phones


@pytest.mark.parametrize(
    ("text", "value", "span"),
    [
        ("我的手机是13812345678", "13812345678", "13812345678"),
        ("138 1234 5678", "13812345678", "138 1234 5678"),
        ("138-1234-5678", "13812345678", "138-1234-5678"),
        ("+86 138 1234 5678", "13812345678", "+86 138 1234 5678"),
        ("+86-13812345678", "13812345678", "+86-13812345678"),
        ("+8613812345678", "13812345678", "+8613812345678"),
        ("008619912345678", "19912345678", "008619912345678"),
        ("call me on 15900001111 please", "15900001111", "15900001111"),
        ("换成新号 18600001111", "18600001111", "18600001111"),
    ],
)
def test_phone(text, value, span):
    assert found(text, "phone") == [("phone", value, span)]


@pytest.mark.parametrize(
    "text",
    [
        "95588",
        "12345678901",  # no mobile prefix starts with 12
        "138123456789",  # twelve digits
        "010-12345678",  # a landline
        "138 12345 678",  # odd grouping
        CARD_19,
        ID_18,
    ],
)
def test_phone_negatives(text):
    assert found(text, "phone") == []


# ---------------------------------------------------------------------------------------------
# ID numbers and card numbers


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (f"身份证{ID_18}", ID_18),
        (f"证件号 {ID_18_X}", ID_18_X),
        (f"证件号 {ID_18_X.lower()}", ID_18_X),
        (f"身份证号{ID_15}", ID_15),
        (f"{ID_18[:6]} {ID_18[6:14]} {ID_18[14:]}", ID_18),
    ],
)
def test_id_number(text, value):
    assert found(text, "id_number") == [("id_number", value, text.split()[-1] if " " in text else value)] or (
        found(text, "id_number")[0][1] == value
    )


@pytest.mark.parametrize(
    "text",
    [
        ID_18[:-1] + "0",  # wrong check digit
        "110105199013071235",  # month 13
        "000000000000000000",
    ],
)
def test_id_number_negatives(text):
    assert found(text, "id_number") == []


@pytest.mark.parametrize(
    ("text", "value", "span"),
    [
        (f"卡号{CARD_19}", CARD_19, CARD_19),
        (CARD_16, CARD_16, CARD_16),
        ("卡号6222 0210 0012 3456 781", CARD_19, "6222 0210 0012 3456 781"),
        ("6259-0600-1234-5673", CARD_16, "6259-0600-1234-5673"),
        (f"转到{CARD_16}，户名张伟", CARD_16, CARD_16),
    ],
)
def test_card_number(text, value, span):
    assert CARD_16 == "6259060012345673"
    assert found(text, "card_number") == [("card_number", value, span)]


@pytest.mark.parametrize(
    "text",
    [
        "6259060012345674",  # fails Luhn
        "123456789012",  # twelve digits
        "12345678901234567890",  # twenty digits
        "8613812345678",  # a +86 mobile number, even if it happened to pass Luhn
    ],
)
def test_card_number_negatives(text):
    assert found(text, "card_number") == []


def test_thirteen_digit_country_code_phone_is_a_phone_not_a_card():
    # 8613912345677 passes Luhn; it is still a phone number.
    assert is_luhn_valid("8613912345677")
    assert found("8613912345677") == [("phone", "13912345677", "8613912345677")]


# ---------------------------------------------------------------------------------------------
# Account kinds and products


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("我的储蓄卡和工资卡", ["debit_card", "salary_card"]),
        ("借记卡余额", ["debit_card"]),
        ("我的credit card被盗刷", ["credit_card"]),
        ("My Credit Card was stolen", ["credit_card"]),
        ("信用卡額度", ["credit_card"]),
        ("工資卡", ["salary_card"]),
        ("存折取钱", ["passbook"]),
        ("二类户怎么开", ["class_ii_account"]),
        ("II类账户限额", ["class_ii_account"]),
        ("III类户", ["class_iii_account"]),
        ("给孩子办副卡", ["supplementary_card"]),
        ("社保卡能取钱吗", ["social_security_card"]),
        ("大额存单和定期存款", ["time_deposit"]),
        ("debit card", ["debit_card"]),
        ("银行卡丢了", []),  # a card of any kind is not a kind
    ],
)
def test_account_ref(text, kinds):
    assert [e[1] for e in found(text, "account_ref")] == kinds


def test_product_longest_match_ignoring_case_and_spaces():
    assert found("灵犀现金宝A和灵犀现金宝", "product", products=PRODUCTS) == [
        ("product", "灵犀现金宝 A", "灵犀现金宝A"),
        ("product", "灵犀现金宝", "灵犀现金宝"),
    ]
    assert found("灵犀稳享90天持有期3号能赎回吗", "product", products=PRODUCTS) == [
        ("product", "灵犀稳享 90 天持有期 3 号", "灵犀稳享90天持有期3号"),
    ]
    assert found("sell my global tech qdii", "product", products=PRODUCTS) == [
        ("product", "Global Tech QDII", "global tech qdii"),
    ]


def test_product_wins_over_the_account_kind_inside_it():
    assert found("灵犀白金信用卡年费多少", products=PRODUCTS) == [
        ("product", "灵犀白金信用卡", "灵犀白金信用卡"),
    ]
    assert found("灵犀白金信用卡年费多少") == [("account_ref", "credit_card", "信用卡")]


def test_no_products_no_product_entities():
    assert found("灵犀现金宝", "product") == []
    assert found("灵犀现金宝", "product", products=["", "  "]) == []


# ---------------------------------------------------------------------------------------------
# Whole messages and overlaps


def test_a_rambling_message():
    text = "昨天在超市刷卡的时候发现尾号6688的储蓄卡不见了，里面还有一万五千块，手机13812345678"
    assert found(text) == [
        ("date", date(2026, 3, 17), "昨天"),
        ("card_tail", "6688", "尾号6688"),
        ("account_ref", "debit_card", "储蓄卡"),
        ("amount", Money(Decimal(15000)), "一万五千块"),
        ("phone", "13812345678", "13812345678"),
    ]


def test_numbers_are_claimed_once():
    text = f"身份证{ID_18}，卡号{CARD_19}，手机+86 138 1234 5678，上周五转了3万块"
    assert [(e[0], e[2]) for e in found(text)] == [
        ("id_number", ID_18),
        ("card_number", CARD_19),
        ("phone", "+86 138 1234 5678"),
        ("date", "上周五"),
        ("amount", "3万块"),
    ]


def test_an_id_number_after_a_money_verb_is_not_an_amount():
    assert found(f"转了{ID_18}") == [("id_number", ID_18, ID_18)]


def test_entity_fields():
    (entity,) = extract_entities("尾号6688", today=TODAY)
    assert entity == Entity("card_tail", "6688", "尾号6688", 0, 6)


def test_empty_text():
    assert extract_entities("", today=TODAY) == []


def _csv_texts() -> list[str]:
    texts: list[str] = []
    for path in (ROOT / "src/lingxi/nlu/data/demo_intents.csv", ROOT / "tests/nlu/data/demo_eval.csv"):
        with path.open(encoding="utf-8") as f:
            texts.extend(row["text"] for row in csv.DictReader(f))
    return texts


def test_spans_are_exact_and_never_overlap_on_every_demo_phrasing():
    texts = _csv_texts()
    assert len(texts) > 2000
    for text in texts:
        entities = extract_entities(text, today=TODAY, products=PRODUCTS)
        end = -1
        for entity in entities:
            assert text[entity.start : entity.end] == entity.text, text
            assert entity.start >= end, text
            end = entity.end


# ---------------------------------------------------------------------------------------------
# Masking for logs


def test_mask_entities_for_log():
    text = f"我叫张伟，身份证{ID_18}，手机138 1234 5678，卡号{CARD_19}，尾号5678的卡丢了"
    masked = mask_entities_for_log(text, extract_entities(text, today=TODAY))
    assert masked == (
        "我叫张伟，身份证1101**********1239，手机138****5678，卡号6222 **** **** 6781，尾号5678的卡丢了"
    )
    for secret in (ID_18, "1234 5678", CARD_19):
        assert secret not in masked


def test_mask_entities_for_log_also_masks_what_was_not_recognised():
    typo_id = ID_18[:-1] + "0"  # a wrong check digit: no entity, still personal data
    text = f"身份证{typo_id}"
    assert extract_entities(text, today=TODAY) == []
    assert mask_entities_for_log(text, []) == "身份证1101**********1230"


def test_mask_entities_for_log_ignores_entities_of_another_text():
    entities = extract_entities("手机13812345678", today=TODAY)
    assert mask_entities_for_log("你好", entities) == "你好"


def test_long_digit_runs_do_not_backtrack_catastrophically():
    # Before the numeral run was made possessive, 20 digits took a second and 40 would take hours.
    # A subprocess, because a regex cannot be interrupted from inside the process.
    code = "from lingxi.nlu.entities import extract_entities as x; x('1' * 40); x('1.' * 40); x('一' * 300)"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=20)
