"""The Markdown report read by a CommonMark parser (markdown-it-py, with its GFM
tables): the sections' tables are tables, and hostile values stay text."""

from __future__ import annotations

from html.parser import HTMLParser

from markdown_it import MarkdownIt

from capture.identity.catalog import load_catalog
from capture.report import markdown
from capture.report.model import InputInfo, build_report
from tests.capture.report.samples import SCRIPT, injected_records

ALLOWED = {"h1", "h2", "h3", "p", "strong", "table", "thead", "tbody", "tr", "th", "td", "ul",
           "li", "br"}  # fmt: skip


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)

    def handle_data(self, data: str) -> None:
        self.text += data


def _tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """Each table as (header cells, body rows), from markdown-it's tokens."""
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    tables: list[tuple[list[str], list[list[str]]]] = []
    row: list[str] = []
    part = ""
    for i, token in enumerate(tokens):
        if token.type == "table_open":
            tables.append(([], []))
        elif token.type in ("thead_open", "tbody_open"):
            part = token.type
        elif token.type == "tr_open":
            row = []
        elif token.type == "inline" and tokens[i - 1].type in ("th_open", "td_open"):
            # The cell as a reader sees it: escapes resolved, a <br> as a line break.
            children = token.children or []
            row.append("".join("\n" if c.type == "html_inline" else c.content for c in children))
        elif token.type == "tr_close":
            if part == "thead_open":
                tables[-1][0].extend(row)
            else:
                tables[-1][1].append(row)
    return tables


def _render(redact: bool = False) -> str:
    from capture.formats.redact import Redactor

    report = build_report(
        injected_records(),
        redactor=Redactor.new() if redact else None,
        catalog=load_catalog(),
        inputs=[InputInfo("records.jsonl", "headerwatch JSONL records", 1, "0" * 64, False)],
    )
    return markdown.render(report)


def test_each_section_is_a_table_with_its_columns_and_rows() -> None:
    tables = _tables(_render())
    heads = [head for head, _ in tables]
    assert ["Input", "Kind", "Bytes", "SHA-256"] in heads
    findings = next(
        rows for head, rows in tables if head[:3] == ["Identity", "Value", "Header or parameter"]
    )
    assert {row[2] for row in findings} >= {"X-MSISDN", "X-Up-Subno-Hex", "X-Nokia-Msisdn"}
    exposure = next(rows for head, rows in tables if head[0] == "Site")
    assert len(exposure) == 3
    assert next(head for head, _ in tables if head[0] == "Site")[-1] == "Requests with an identity"
    injection = next(rows for head, rows in tables if head[3:6] == ["Added", "Removed", "Changed"])
    assert len(injection) == 3 and all("Accept" in row[4] for row in injection)
    limits = next(rows for head, rows in tables if head == ["What", "Count", "Why"])
    assert len(limits) == 13
    # Records with no frame number (no capture): no Frame column of dashes.
    appendix = next(rows for head, rows in tables if head[-2:] == ["Identities", "Connection"])
    assert len(appendix) == 3


def test_hostile_values_are_text_once_the_markdown_is_rendered() -> None:
    text = _render()
    rendered = MarkdownIt("commonmark").enable("table").render(text)
    tree = _Tree()
    tree.feed(rendered)
    assert tree.tags <= ALLOWED, tree.tags - ALLOWED
    assert SCRIPT in tree.text
    assert "<img src=x onerror=alert(1)>" in tree.text
    assert "*star* [link](http://x.example/)" in tree.text
    assert "\u202e" not in text and "\x1b" not in text
