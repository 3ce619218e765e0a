"""Answers are stored as a safe subset of HTML; a plain-text rendering is derived for text-only channels."""

from __future__ import annotations

import pytest

from lingxi.knowledge.richtext import plain_text, sanitize_answer
from tests.auth.helpers import bearer
from tests.knowledge.helpers import content, create, error_code


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("<p>您好<script>alert(1)</script></p>", "<p>您好</p>"),
        ('<p onclick="steal()" style="color:red">点我</p>', "<p>点我</p>"),
        ("<b>粗体</b><strong>强调</strong><em>斜</em>", "<b>粗体</b><strong>强调</strong><em>斜</em>"),
        (
            "<ul><li>一</li><li>二</li></ul><ol><li>甲</li></ol>",
            "<ul><li>一</li><li>二</li></ul><ol><li>甲</li></ol>",
        ),
        (
            '<a href="https://bank.example/fees?a=1&b=2" target="_top">收费</a>',
            '<a href="https://bank.example/fees?a=1&amp;b=2" rel="noopener noreferrer nofollow">收费</a>',
        ),
        ('<a href="javascript:alert(1)">x</a>', '<a rel="noopener noreferrer nofollow">x</a>'),
        ('<a href="/relative/path">x</a>', '<a rel="noopener noreferrer nofollow">x</a>'),
        ('<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>', '<a rel="noopener noreferrer nofollow">x</a>'),
        ('<img src=x onerror="alert(1)">图片<iframe src="https://evil.example"></iframe>', "图片"),
        ("<style>p{display:none}</style><p>可见</p>", "<p>可见</p>"),
        ("<div>段落一</div><h2>标题</h2>", "<p>段落一</p><p>标题</p>"),
        ("<!-- 备注 --><p>正文</p>", "<p>正文</p>"),
        (
            "第一行\n第二行\n\n第二段 <不是标签> & 符号",
            "<p>第一行<br>第二行</p><p>第二段 &lt;不是标签&gt; &amp; 符号</p>",
        ),
        ("<p></p><br><script>x</script>", ""),
    ],
)
def test_sanitize(raw: str, stored: str) -> None:
    assert sanitize_answer(raw) == stored


def test_sanitized_output_is_stable() -> None:
    once = sanitize_answer('<p>A <a href="https://x.example">链接</a></p><ul><li>一</li></ul>')
    assert sanitize_answer(once) == once


def test_plain_text_for_text_only_channels() -> None:
    html = sanitize_answer(
        "<p>办理方式：</p><ol><li>APP「卡片管理」</li><li>拨打 95xxx</li></ol>"
        '<ul><li>费用：<b>免费</b></li></ul><p>详见<a href="https://bank.example/a">收费标准</a>，'
        '或访问 <a href="https://bank.example/b">https://bank.example/b</a></p>'
    )
    assert plain_text(html) == (
        "办理方式：\n1. APP「卡片管理」\n2. 拨打 95xxx\n• 费用：免费\n"
        "详见收费标准（https://bank.example/a），或访问 https://bank.example/b"
    )
    assert plain_text(sanitize_answer("<p>a &amp; b &lt;c&gt;</p>")) == "a & b <c>"
    assert plain_text(sanitize_answer("a &amp; b")) == "a &amp; b"  # plain text is taken literally


async def test_answers_are_sanitised_on_save(api, editors):
    author, _ = editors
    entry = await create(api, author, answer='<p>请<a href="javascript:x()">点击</a><script>x</script></p>')
    version = entry["versions"][0]
    assert version["answer_html"] == '<p>请<a rel="noopener noreferrer nofollow">点击</a></p>'
    assert version["answer_text"] == "请点击"
    r = await api.post(
        "/api/knowledge/entries", json=content(answer="<script>only()</script>"), headers=bearer(author)
    )
    assert r.status_code == 422 and error_code(r) == "empty_answer"
    assert r.json()["error"]["details"] == [{"field": "answer", "problem": "empty after sanitising"}]
