"""The echo page's pure parts: content negotiation and escaping."""

from __future__ import annotations

from capture.lab.page import CONTENT_SECURITY_POLICY, prefers_html, render_page
from capture.lab.probe import sent_block
from capture.model import Finding


def test_browsers_prefer_html_and_tools_do_not() -> None:
    chrome = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"
    firefox = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert prefers_html(chrome) and prefers_html(firefox)
    assert not prefers_html("*/*")  # curl
    assert not prefers_html(None) and not prefers_html("")
    assert not prefers_html("application/json, text/html;q=0.5")
    assert not prefers_html("text/html;q=0")
    assert prefers_html("text/html;q=0.9, application/json;q=0.5")


def test_probe_sends_a_browsers_accept_so_the_reflector_answers_it_with_the_page() -> None:
    for scrambled in (False, True):
        accept = [v for n, v in sent_block("198.51.100.2", scrambled) if n.lower() == "accept"]
        assert prefers_html(", ".join(accept)), accept


def test_everything_from_the_request_is_escaped_and_the_page_has_no_script() -> None:
    found = Finding(
        "X-MSISDN", "header", "msisdn", "447700900123", "+447700900123", "catalog", "high"
    )
    page = render_page(
        'GET /<img src=x onerror="1"> HTTP/1.1',
        (("X-MSISDN", "447700900123"), ("X-A", "</pre><script>x</script>\x1b[2J")),
        (found,),
        "127.0.0.1",
    ).decode()
    assert "<script" not in page and "<img" not in page
    assert "&lt;/pre&gt;&lt;script&gt;x&lt;/script&gt;" in page
    assert "\x1b" not in page  # control characters are shown escaped
    assert "<mark>447700900123</mark>" in page
    assert 'name="viewport"' in page
    assert (
        "script-src" not in CONTENT_SECURITY_POLICY
        and "default-src 'none'" in CONTENT_SECURITY_POLICY
    )


def test_a_page_without_identities_says_so_and_suggests_port_80() -> None:
    page = render_page("GET / HTTP/1.1", (("Host", "a"),), (), "10.0.0.1").decode()
    assert "No identity header arrived" in page and "port 80" in page
