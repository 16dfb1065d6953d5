"""Markdown from people (notes, public updates) renders, and nothing executable survives."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import markdown
import pytest
from django.template import Context, Template
from django.utils.safestring import SafeString

from ops_portal.markdown import render_markdown

SAFE_TAGS = {
    "a", "p", "br", "hr", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li",
    "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "del",
}  # fmt: skip
SAFE_SCHEMES = {"http", "https", "mailto"}


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))


def unsafe_parts(html: str) -> list[str]:
    """What a browser could execute or be styled/redirected by, judged on the parsed HTML."""
    parser = _Elements()
    parser.feed(html)
    parser.close()
    problems = []
    for tag, attrs in parser.elements:
        if tag not in SAFE_TAGS:
            problems.append(f"<{tag}>")
        for name, value in attrs.items():
            if name.startswith("on") or name in {"style", "src", "srcdoc", "formaction"}:
                problems.append(f"{tag}[{name}]")
            if name == "href" and value:
                scheme = urlsplit(value.strip()).scheme.lower()
                if scheme and scheme not in SAFE_SCHEMES:
                    problems.append(f"{tag}[href={value}]")
    return problems


ATTACKS = {
    "script-tag": "<script>alert(1)</script>Hello",
    "script-mixed-case": "<ScRiPt>alert(1)</sCrIpT>",
    "markdown-javascript-link": "[click](javascript:alert(1))",
    "html-javascript-link": '<a href="javascript:alert(1)">click</a>',
    "javascript-link-mixed-case": '<a href="JaVaScRiPt:alert(1)">click</a>',
    "javascript-link-entity-tab": '<a href="java&#x09;script:alert(1)">click</a>',
    "javascript-link-leading-space": '<a href=" javascript:alert(1)">click</a>',
    "vbscript-link": "[click](vbscript:msgbox(1))",
    "img-onerror": "<img src=x onerror=alert(1)>",
    "markdown-image-onerror-title": '![x](https://example.com/x.png "a" onerror="alert(1)")',
    "onerror-on-allowed-tag": '<p onerror="alert(1)">text</p>',
    "onclick-on-link": '<a href="https://example.com" onclick="alert(1)">x</a>',
    "svg-onload": "<svg onload=alert(1)>",
    "data-url-link": "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "data-url-html-link": '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    "data-url-image": "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "style-attribute": '<p style="background:url(javascript:alert(1))">text</p>',
    "style-tag": "<style>body { display: none }</style>text",
    "iframe": '<iframe src="https://evil.example"></iframe>',
    "object-embed": '<object data="x.swf"></object><embed src="x.swf">',
    "form": '<form action="https://evil.example"><input name="password"></form>',
    "meta-refresh": '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    "base-href": '<base href="https://evil.example/">',
    "attribute-breakout": '[x](https://example.com/"onmouseover="alert(1))',
}


@pytest.mark.parametrize("text", ATTACKS.values(), ids=ATTACKS.keys())
def test_nothing_executable_survives(text):
    html = str(render_markdown(text))

    assert unsafe_parts(html) == [], html


def test_script_content_is_dropped_and_the_text_kept():
    html = render_markdown("<script>alert(1)</script>Hello")

    assert "alert" not in html
    assert "Hello" in html


def test_javascript_link_keeps_its_text_but_loses_the_href():
    html = render_markdown("[click me](javascript:alert(1))")

    assert "click me" in html
    assert "href" not in html


def test_bold_and_emphasis_are_kept():
    html = render_markdown("**bold** and *quiet*")

    assert "<strong>bold</strong>" in html
    assert "<em>quiet</em>" in html


def test_links_keep_https_and_get_noopener():
    html = render_markdown("[status](https://status.example.com/incidents/1)")

    match = re.search(r'<a href="https://status\.example\.com/incidents/1" rel="([^"]*)"', html)
    assert match, html
    assert "noopener" in match.group(1).split()
    assert "noreferrer" in match.group(1).split()


def test_a_link_asking_for_the_opener_still_gets_noopener():
    html = render_markdown('<a href="https://example.com" rel="opener" target="_blank">x</a>')

    assert 'rel="opener"' not in html
    assert "noopener" in html
    assert "target" not in html


def test_mailto_links_are_kept():
    html = render_markdown("[mail us](mailto:oncall@example.com)")

    assert 'href="mailto:oncall@example.com"' in html


def test_code_shows_markup_as_text():
    html = render_markdown(
        'Run `<script>alert("x")</script>` and\n\n```\n<img src=x onerror=y>\n```'
    )

    assert "&lt;script&gt;" in html
    assert "&lt;img src=x onerror=y&gt;" in html
    assert "<script" not in html
    assert "<img" not in html


def test_lists_tables_and_headings_render():
    html = render_markdown("### Impact\n\n- checkout\n- search\n\n| a | b |\n|---|---|\n| 1 | 2 |")

    assert "<h3>Impact</h3>" in html
    assert "<li>checkout</li>" in html
    assert "<td>1</td>" in html


def test_output_is_safe_for_templates_and_empty_input_is_empty():
    assert isinstance(render_markdown("x"), SafeString)
    assert render_markdown("") == ""
    assert render_markdown(None) == ""
    rendered = Template("{{ body }}").render(Context({"body": render_markdown("**x**")}))
    assert rendered == "<p><strong>x</strong></p>"


# Python-Markdown alone passes these through: proof the checker above is not blind.
RAW_DANGEROUS = {key: text for key, text in ATTACKS.items() if key != "attribute-breakout"}


@pytest.mark.parametrize("text", RAW_DANGEROUS.values(), ids=RAW_DANGEROUS.keys())
def test_the_checker_flags_the_attack_without_sanitizing(text):
    raw = markdown.markdown(text, extensions=["fenced_code", "tables", "sane_lists"])

    assert unsafe_parts(raw) != [], raw
