import pytest

from lingxi.nlu import DataError, parse_examples, read_examples


def test_reads_intent_and_banking77_forms_with_and_without_bom(tmp_path):
    plain = tmp_path / "a.csv"
    plain.write_text("text,intent\n我的卡丢了,card_loss_report\n", encoding="utf-8")
    bom = tmp_path / "b.csv"
    bom.write_text("text,category\nI lost my card,lost_or_stolen_card\n", encoding="utf-8-sig")
    assert [(e.text, e.intent) for e in read_examples(plain)] == [("我的卡丢了", "card_loss_report")]
    assert [(e.text, e.intent) for e in read_examples(bom)] == [("I lost my card", "lost_or_stolen_card")]


def test_blank_texts_are_skipped_and_quoted_commas_kept():
    examples = parse_examples('text,intent\n"hello, there",greeting\n,greeting\n  ,x\n')
    assert [(e.text, e.intent) for e in examples] == [("hello, there", "greeting")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("utterance,intent\nhi,greeting\n", "no `text` column"),
        ("text,label2\nhi,greeting\n", "no `intent`"),
        ("text,intent\n", "no example rows"),
        ("text,intent\nhello,\n", "row 2"),
    ],
)
def test_errors_say_what_to_fix(content, message):
    with pytest.raises(DataError, match=message):
        parse_examples(content)


def test_missing_and_non_utf8_files(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_examples(tmp_path / "missing.csv")
    latin = tmp_path / "gbk.csv"
    latin.write_bytes("text,intent\n我的卡丢了,card_loss_report\n".encode("gbk"))
    with pytest.raises(DataError, match="UTF-8"):
        read_examples(latin)
