"""HTML to Markdown for ``web_fetch`` (agent/web/markdown.py): structure kept, chrome and scripts
dropped, malformed HTML tolerated."""

from __future__ import annotations

from threadline.agent.web.markdown import to_markdown


def md(html: str, base: str = "https://example.com/a/b.html") -> str:
    return to_markdown(html, base).markdown


def test_structure() -> None:
    assert md("<h2>Title</h2><p>one <em>two</em> <code>x()</code></p>") == "## Title\n\none *two* `x()`"
    assert md("<ol><li>a<li>b<ol><li>c</ol></ol>") == "1. a\n2. b\n  1. c"
    assert md("<blockquote><p>q1</p><p>q2</p></blockquote>") == "> q1\n>\n> q2"
    assert md("<table><tr><th>A</th><th>B</th></tr><tr><td>1</td><td>x|y</td></tr></table>") == \
        "| A | B |\n|---|---|\n| 1 | x\\|y |"
    assert md("<p>a<br>b</p><hr><p>c</p>") == "a\nb\n\n---\n\nc"
    assert md('<pre><code>if x:\n    ```\n</code></pre>') == "````\nif x:\n    ```\n````"


def test_links_and_images() -> None:
    assert md('<a href="../c.html">up</a> <a href="#top">top</a> <a href="javascript:x()">js</a>') == \
        "[up](https://example.com/c.html) top js"
    assert md('<base href="https://other.org/x/"><a href="y">y</a>') == "[y](https://other.org/x/y)"
    assert md('<img src="/i.png" alt="A cat"><img src="/j.png">') == "![A cat](https://example.com/i.png)"


def test_what_is_not_read_is_dropped() -> None:
    html = ("<head><title>T</title><style>p{}</style></head><body><script>alert(1)</script><!-- note -->"
            "<nav>menu</nav><div hidden>h</div><p style='display: none'>n</p><p aria-hidden='true'>a</p>"
            "<form><input value='v'><button>Go</button><select><option>o</select>label</form>"
            "<p>kept</p><aside>side</aside><footer>foot</footer><svg><text>s</text></svg></body>")
    converted = to_markdown(html, "")
    assert converted.title == "T" and converted.markdown == "label\n\nkept"


def test_main_content_wins_when_marked() -> None:
    body = "words " * 50
    assert md(f"<header>site</header><main><p>{body}</p></main><p>other</p>") == body.strip()
    assert md("<article><p>short</p></article><p>rest</p>") == "short\n\nrest"  # too short to trust alone


def test_malformed_html() -> None:
    assert md("<p>unclosed <b>bold <i>both") == "unclosed **bold *both***"
    assert md("</div></p>stray</span> end<p>") == "stray end"
    assert md("<ul><li>a<p>para</p><li>b</ul>") == "- a\n\npara\n\n- b"
    assert md("<nav>menu <p>never closed") == ""
    assert md("") == ""
