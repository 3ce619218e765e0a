from lingxi.nlu.text import char_ngrams, normalize, to_half_width, to_simplified, word_tokens


def test_full_width_to_half_width():
    assert to_half_width("ＡＢＣ１２３！") == "ABC123!"
    assert normalize("ｗｈａｔ　ｉｓ　ｍｙ　ＢＡＬＡＮＣＥ？") == "what is my balance?"


def test_traditional_to_simplified():
    assert to_simplified("銀行卡掛失") == "银行卡挂失"
    assert to_simplified("轉帳手續費") == "转帐手续费"
    assert normalize("我的卡丟了，幫我凍結帳戶") == normalize("我的卡丢了,帮我冻结帐户")
    # 么 is already simplified and must stay (什么), 麼 becomes 么.
    assert to_simplified("什么") == "什么"
    assert to_simplified("什麼") == "什么"


def test_digits_fold_to_length_classes_and_case_lowers():
    assert normalize("转账5000元") == normalize("转账8000元") == "转账####元"
    assert normalize("Card ending 12") == "card ending ##"
    assert normalize("  多个   空格 ") == "多个 空格"


def test_tokens_mix_chinese_words_and_english():
    tokens = word_tokens(normalize("我的信用卡丢了 lost my card"))
    assert "信用卡" in tokens
    assert tokens[-3:] == ["lost", "my", "card"]
    grams = char_ngrams("丢卡 card")
    assert {"丢", "卡", "丢卡", " c", "card "} <= set(grams)
