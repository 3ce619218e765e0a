"""WeChat signatures, safe-mode crypto and XML handling, without a server."""

from __future__ import annotations

import base64

import pytest

from lingxi.channels.wechat.crypto import CryptoError, WeChatCrypto, check_signature, signature
from lingxi.channels.wechat.messages import BadMessage, BadXml, cdata, parse_xml, text_reply, to_inbound

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wxdemoappid0000001"


def test_signature_vector_from_the_wechat_docs():
    assert signature("test", "1410685589", "test") == "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff"
    assert check_signature(("test", "1410685589", "test"), "F21891DE399B4E33A1A93C9A7B8A8FFFB5A443FF")
    assert not check_signature(("test", "1410685589", "test"), "0" * 40)
    assert not check_signature(("test", "1410685589", "test"), None)


def test_safe_mode_round_trip_and_layout():
    crypto = WeChatCrypto(AES_KEY, APP_ID)
    xml = "<xml><Content><![CDATA[你好，灵犀]]></Content></xml>"
    encrypted = crypto.encrypt(xml, random_prefix=b"0123456789abcdef")
    raw = base64.b64decode(encrypted)
    assert len(raw) % 32 == 0  # PKCS#7 to 32 bytes
    assert crypto.decrypt(encrypted) == xml
    # a random prefix makes each ciphertext different
    assert crypto.encrypt(xml) != crypto.encrypt(xml)


def test_other_app_id_and_tampering_are_refused():
    mine = WeChatCrypto(AES_KEY, APP_ID)
    theirs = WeChatCrypto(AES_KEY, "wxsomeoneelse00001")
    with pytest.raises(CryptoError) as info:
        mine.decrypt(theirs.encrypt("<xml/>"))
    assert info.value.reason == "wrong_app_id"
    other_key = WeChatCrypto("Z" * 42 + "A", APP_ID)
    with pytest.raises(CryptoError):
        mine.decrypt(other_key.encrypt("<xml/>"))
    with pytest.raises(CryptoError) as info:
        mine.decrypt("not base64!!")
    assert info.value.reason == "bad_base64"
    with pytest.raises(CryptoError) as info:
        mine.decrypt(base64.b64encode(b"x" * 15).decode())
    assert info.value.reason == "bad_length"


def test_bad_aes_key_is_reported():
    with pytest.raises(CryptoError):
        WeChatCrypto("too-short", APP_ID)


def test_parse_rejects_dtd_entities_and_garbage():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        b"<xml><Content>&b;</Content></xml>"
    )
    with pytest.raises(BadXml):
        parse_xml(bomb)
    external = (
        b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><C>&x;</C></xml>'
    )
    with pytest.raises(BadXml):
        parse_xml(external)
    with pytest.raises(BadXml) as info:
        parse_xml(b"<xml><Content>unclosed</xml>")
    assert info.value.reason == "malformed"
    with pytest.raises(BadXml) as info:
        parse_xml(b"<root><a>1</a></root>")
    assert info.value.reason == "bad_root"


def test_reply_xml_survives_cdata_terminators():
    xml = text_reply(to_user="oUser", from_user="gh_x", content="a]]>b<c>&", create_time=1)
    fields = parse_xml(xml)
    assert fields["Content"] == "a]]>b<c>&"
    assert cdata("x") == "<![CDATA[x]]>"


def test_inbound_fields_are_checked():
    base = {"ToUserName": "gh_x", "FromUserName": "oUser", "CreateTime": "1700000000", "MsgType": "text"}
    with pytest.raises(BadMessage):
        to_inbound({**base, "Content": "hi"})  # no MsgId
    with pytest.raises(BadMessage):
        to_inbound({k: v for k, v in base.items() if k != "FromUserName"})
    with pytest.raises(BadMessage):
        to_inbound({**base, "CreateTime": "yesterday", "MsgId": "1"})
    message = to_inbound({**base, "Content": "hi", "MsgId": "123"})
    assert message.dedup_key == "msg:123"
    event = to_inbound({**base, "MsgType": "event", "Event": "subscribe"})
    assert event.dedup_key == "evt:oUser:1700000000:subscribe"
