from __future__ import annotations

import pytest

from backend.web.markdown import render_markdown


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("**bold** and *em*", "<p><strong>bold</strong> and <em>em</em></p>"),
        (
            "```python\nif a < b:\n    pass\n```",
            '<pre><code class="language-python">if a &lt; b:\n    pass\n</code></pre>',
        ),
        ("- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>"),
        ("line one\nline two", "<p>line one<br>\nline two</p>"),
        ("<script>alert(1)</script>hi", "<p>hi</p>"),
        ('<img src=x onerror="alert(1)">', "<p></p>"),
        ("[x](javascript:alert(1))", '<p><a rel="noopener noreferrer nofollow">x</a></p>'),
        (
            "[x](https://example.org)",
            '<p><a href="https://example.org" rel="noopener noreferrer nofollow">x</a></p>',
        ),
        (
            '<a href="https://e.org" onclick="x()" style="color:red">y</a>',
            '<p><a href="https://e.org" rel="noopener noreferrer nofollow">y</a></p>',
        ),
    ],
)
def test_markdown_is_rendered_and_sanitised(text, html):
    assert render_markdown(text).strip() == html
