"""The reflector's echo page: what a phone's browser sees when it opens the reflector.

The O2 leak of 2012 was found with a page like this one: open it over mobile data,
and it lists the headers the request arrived with, the carrier's among them. The
request line and the header block are shown exactly as received (wire order,
original case, duplicates, undecodable bytes as ``\\xNN``); headers that carry an
identity are highlighted and explained. Everything from the request is escaped,
the page has no script, and :data:`CONTENT_SECURITY_POLICY` allows nothing but its
one inline style sheet (pinned by hash).
"""

from __future__ import annotations

import base64
import hashlib
import html
from functools import lru_cache

from capture.identity.catalog import Catalog, load_catalog
from capture.identity.names import normalize_name
from capture.model import WHERE_HEADER, Finding, Header
from capture.text import counted, printable

_CSS = """
body{font:16px/1.45 system-ui,sans-serif;margin:0 auto;padding:12px;max-width:60rem;
color:#111;background:#fff}
h1{font-size:1.3rem;margin:.2rem 0 .6rem}
h2{font-size:1.05rem;margin:1rem 0 .3rem}
p{margin:.4rem 0}
.verdict{padding:.6rem .8rem;border-radius:6px;background:#e8f5e9;border:1px solid #9ccc9c}
.verdict.found{background:#fdecea;border-color:#e57373}
pre,.hdr{font:14px/1.35 ui-monospace,monospace;overflow-wrap:anywhere;white-space:pre-wrap}
pre{background:#f4f4f4;padding:.5rem;border-radius:4px;margin:.3rem 0}
ol{list-style:none;padding:0;margin:.3rem 0}
li.hdr{padding:.3rem .5rem;border-bottom:1px solid #ddd}
li.identity{background:#fff3cd;border-left:5px solid #d32f2f}
.n{font-weight:600}
mark{background:#ffcc80;color:#000}
.why{font:14px/1.4 system-ui,sans-serif;margin:.3rem 0 0 .2rem;color:#333}
.sev{font-weight:700;text-transform:uppercase}
.sev-high{color:#b71c1c}.sev-medium{color:#e65100}.sev-low,.sev-info{color:#555}
footer{margin-top:1rem;font-size:.85rem;color:#555}
@media (prefers-color-scheme:dark){body{color:#eee;background:#121212}
pre{background:#222}li.hdr{border-color:#333}li.identity{background:#3b2f00}
.verdict{background:#1b3320;border-color:#2e7d32}.verdict.found{background:#3b1414}
.why,footer{color:#bbb}}
""".strip()

_CSS_HASH = base64.b64encode(hashlib.sha256(_CSS.encode()).digest()).decode()

CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
"""No script, no fetches, no frames: the page's one style sheet, pinned by its hash."""


def prefers_html(accept: str | None) -> bool:
    """Whether an ``Accept`` value prefers ``text/html`` to JSON.

    Browsers list ``text/html`` first (``text/html,...,*/*;q=0.8``), and so does
    ``probe``, which sends a browser's header block (its verdict rests on the echo
    header, not the body); curl and most tools send ``*/*`` or nothing, and keep
    getting the JSON echo.
    """
    if not accept:
        return False
    html_q = json_q = any_q = -1.0
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.lower()
        if media in ("text/html", "application/xhtml+xml"):
            html_q = max(html_q, q)
        elif media == "application/json":
            json_q = max(json_q, q)
        elif media == "*/*":
            any_q = max(any_q, q)
    if json_q < 0:
        json_q = any_q
    return html_q > 0 and html_q > json_q


@lru_cache(maxsize=1)
def _catalog() -> Catalog:
    return load_catalog()


def _e(text: str) -> str:
    # printable() first: control characters (ESC, NUL, bidi overrides) become
    # visible escapes instead of reordering or hiding the text around them.
    return html.escape(printable(text), quote=True)


def _explain(finding: Finding) -> str:
    entry = _catalog().lookup(normalize_name(finding.name))
    parts = [
        f'<span class="sev sev-{_e(finding.severity)}">{_e(finding.severity)}</span>',
        f"{_e(finding.kind)}: <b>{_e(finding.normalized)}</b>",
    ]
    if finding.detail:
        parts.append(_e(finding.detail))
    if entry is not None:
        parts.append(f"catalog: {_e(entry.description)}")
    return '<div class="why">' + " · ".join(parts) + "</div>"


def _header_item(name: str, value: str, found: list[Finding]) -> str:
    shown = _e(value)
    for finding in found:
        part = _e(finding.value)
        if part and part in shown:
            shown = shown.replace(part, f"<mark>{part}</mark>", 1)
            break
    css = "hdr identity" if found else "hdr"
    why = "".join(_explain(f) for f in found)
    return (
        f'<li class="{css}"><span class="n">{_e(name)}</span>: '
        f'<span class="v">{shown}</span>{why}</li>'
    )


def render_page(
    request_line: str,
    headers: tuple[Header, ...],
    findings: tuple[Finding, ...],
    peer: str,
    omitted: int = 0,
) -> bytes:
    """The echo page (UTF-8 HTML) for one request as received.

    ``request_line`` and ``headers`` are as the parser kept them; ``findings`` are the
    detector's findings on the request (those in headers are highlighted, the rest
    listed); ``omitted`` counts headers left out at the end of a block too large to show.
    """
    by_name: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.where == WHERE_HEADER and finding.is_identity:
            by_name.setdefault(finding.name, []).append(finding)
    identities = [f for f in findings if f.is_identity]
    if identities:
        kinds = ", ".join(dict.fromkeys(f.kind for f in identities))
        verdict = (
            '<p class="verdict found"><b>Your request arrived with '
            f"{counted(len(identities), 'identity', 'identities')}</b> ({_e(kinds)})."
            f" If your browser did not send {'it' if len(identities) == 1 else 'them'},"
            " something on the way added it: usually the mobile carrier's header-enrichment"
            " proxy.</p>"
        )
    else:
        verdict = (
            '<p class="verdict"><b>No identity header arrived with this request.</b> '
            "Over mobile data, also try this page over plain http:// on port 80: "
            "enrichment proxies often only touch port 80.</p>"
        )
    items = "\n".join(_header_item(n, v, by_name.get(n, [])) for n, v in headers)
    others = [f for f in identities if f.where != WHERE_HEADER]
    other_html = ""
    if others:
        other_html = (
            "<h2>Elsewhere in the request</h2><ol>"
            + "".join(
                f'<li class="hdr identity">{_e(f.where)} <span class="n">{_e(f.name)}</span>'
                f"{_explain(f)}</li>"
                for f in others
            )
            + "</ol>"
        )
    more = f"<p>… and {counted(omitted, 'more header')} not shown.</p>" if omitted else ""
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>headerwatch: what this server received</title>
<style>{_CSS}</style></head>
<body>
<h1>What this server received</h1>
{verdict}
<h2>Request line</h2>
<pre id="request-line">{_e(request_line)}</pre>
<h2>Headers ({len(headers) + omitted}, in the order they arrived)</h2>
<ol id="headers">
{items}
</ol>{more}
{other_html}
<footer>Seen from {_e(peer)}. The operator of this server sees each request as it
arrives, and may keep a log. Served by headerwatch reflect.</footer>
</body></html>
"""
    return page.encode("utf-8")
