"""An evidence report as one standalone HTML file: no JavaScript, no external assets.

Everything is inline (style, SVG charts), a Content-Security-Policy forbids the page
to load anything at all, and a print stylesheet makes it read on paper. Every
value goes through :func:`html.escape`: hostile header values show as text.
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence

from capture.report.model import (
    EXPOSURE_INTRO,
    EXPOSURE_TOTAL,
    FINDING_COLUMNS,
    KIND_WORDS,
    MASKED_ALREADY,
    REDACTED_NOTE,
    Exposure,
    FindingRow,
    Report,
    echo_trust,
)
from capture.report.study import NETWORK_COLUMNS, STUDY_METHOD, VERDICTS, Study
from capture.text import counted

PALETTE = ("#c0392b", "#2471a3", "#b9770e", "#1e8449", "#7d3c98", "#5d6d7e", "#a04000", "#117a65")
"""Series colours of the charts (enough contrast on white and in grey print)."""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

# .long: a value that may break anywhere (value()). code in print: on A4 a SHA-256 (64
# characters) does not fit beside its input's name, kind and size; on screen it does.
_STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b;
max-width:62rem;margin:1.5rem auto;padding:0 1rem}
h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.2rem;border-bottom:2px solid #ddd;
padding-bottom:.2rem;margin-top:1.8rem}
.lead{font-size:1.15rem;background:#fdf2e9;border-left:5px solid #c0392b;padding:.7rem 1rem}
.raw{background:#fdecea;border:2px solid #c0392b;padding:.5rem 1rem;font-weight:bold}
table{border-collapse:collapse;width:100%;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .45rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
code,.v{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem;
overflow-wrap:break-word}.long{overflow-wrap:anywhere}
.sev-high{color:#a93226;font-weight:bold}.sev-medium{color:#9a7d0a}
.muted{color:#666}svg{max-width:100%;height:auto}
@media print{body{max-width:none;margin:0;font-size:9.5pt}table{font-size:8.5pt}
code{overflow-wrap:anywhere}
.lead{border-left-width:3pt}h2,h3{break-after:avoid}tr,svg,figure{break-inside:avoid}a{color:inherit;text-decoration:none}}
"""


def e(text: object) -> str:
    """Text as HTML, markup and quotes escaped."""
    return html.escape(str(text), quote=True)


LONG_WORD = 32
"""Characters a word of a value may have and stay whole (a host name, an address); a
longer one (a tracking token, an encoded number, a hash) may break anywhere, so that no
value pushes its table's columns off the page or the paper."""


def value(text: str) -> str:
    """A value (as captured, or masked) as HTML, in the values' type; see :data:`LONG_WORD`."""
    long = any(len(word) > LONG_WORD for word in text.split())
    return f'<span class="v{" long" if long else ""}">{e(text)}</span>'


def when(ts: float | None) -> str:
    """A capture time in UTC, to the second."""
    if ts is None:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    """A table; cells, and the head's, are already HTML."""
    out = ["<table><thead><tr>", *(f"<th>{h}</th>" for h in head), "</tr></thead><tbody>"]
    for row in rows:
        out.append(
            "<tr>"
            + "".join(
                f'<td class="n">{cell}</td>' if i in numeric else f"<td>{cell}</td>"
                for i, cell in enumerate(row)
            )
            + "</tr>"
        )
    out.append("</tbody></table>")
    return "".join(out)


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[str],
    counts: Sequence[Sequence[int]],
    totals: Sequence[int] = (),
) -> str:
    """A horizontal stacked bar chart as inline SVG: one bar per category, one colour
    per series; ``counts[s][c]``. The number after each bar is ``totals[c]``, by
    default the bar's sum (give the count of distinct items when one may be in two
    series). Text is escaped; nothing is fetched."""
    label_w, bar_w, row_h, top = 230, 420, 24, 8
    sums = [sum(counts[s][c] for s in range(len(series))) for c in range(len(categories))]
    total = list(totals) or sums
    peak = max(sums, default=0) or 1
    legend_h = 20 * len(series)
    height = top + row_h * len(categories) + 12 + legend_h
    width = label_w + bar_w + 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" font-family="sans-serif" font-size="12">'
        f"<title>{e(title)}</title>"
    ]
    for c, category in enumerate(categories):
        y = top + c * row_h
        short = category if len(category) <= 34 else category[:33] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{e(short)}</text>')
        x = float(label_w)
        for s in range(len(series)):
            n = counts[s][c]
            if not n:
                continue
            w = bar_w * n / peak
            parts.append(
                f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" '
                f'fill="{PALETTE[s % len(PALETTE)]}"><title>{e(series[s])}: {n}</title></rect>'
            )
            x += w
        parts.append(f'<text x="{x + 5:.1f}" y="{y + 15}">{total[c]}</text>')
    y = top + row_h * len(categories) + 12
    for s, name in enumerate(series):
        parts.append(
            f'<rect x="{label_w}" y="{y + 20 * s}" width="12" height="12" '
            f'fill="{PALETTE[s % len(PALETTE)]}"/>'
            f'<text x="{label_w + 18}" y="{y + 20 * s + 11}">{e(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


EXPOSURE_CAPTION = (
    "One bar per site, one colour per identity, as long as the requests that carried it: "
    "a request that carried two identities is in both colours. The number after a bar is "
    f"the site's {EXPOSURE_TOTAL.lower()}, each counted once, as in the table's last column."
)
"""What the exposure chart counts, under it."""


def _exposure_chart(exposure: Exposure) -> str:
    return bar_chart(
        "Requests carrying each identity, per receiving site",
        exposure.hosts,
        exposure.identities,
        exposure.counts,
        exposure.requests,
    )


def _headers(pairs: Sequence[tuple[str, str]]) -> str:
    return "<br>".join(value(f"{n}: {v}") for n, v in pairs) or "—"


def render(report: Report, study: Study | None = None) -> str:
    """The whole report as an HTML document."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(report.title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{e(report.title)}</h1>",
    ]
    if report.masked_already:
        out.append(f'<p class="lead">{e(MASKED_ALREADY)}</p>')
    elif not report.redacted:
        out.append(
            '<p class="raw">This report holds raw identities (written with --no-redact): '
            "phone numbers, SIM and handset identities appear as captured. Share it only "
            "with people entitled to see them.</p>"
        )
    out.append(f'<p class="lead">{e(report.lead)}</p>')
    if study is not None:
        # A study's evidence is its verdicts; the sections of one capture do not apply.
        out += [_study(study), _context(report), _study_method()]
    else:
        out += [
            _context(report),
            _findings(report),
            _exposure(report),
            _injection(report),
            _limits(report),
            _method(report),
            _appendix(report),
        ]
    out.append("</body></html>\n")
    return "\n".join(out)


def _context(report: Report) -> str:
    rows = [
        [
            value(i.name),
            e(i.kind),
            e(f"{i.size:,}" if i.size is not None else "—"),
            f"<code>{e(i.sha256)}</code>",
        ]
        for i in report.inputs
    ]
    notes = "".join(f"<li>{e(n)}</li>" for n in report.notes)
    return (
        '<h2 id="context">Context</h2>'
        f"<p>Traffic from {e(when(report.first_ts))} to {e(when(report.last_ts))}: "
        f"{e(counted(report.requests, 'HTTP request'))}, "
        f"{e(counted(report.identity_requests, 'request'))} carrying an identity. "
        f"Report written {e(when(report.created))} by headerwatch {e(report.version)} "
        f"with identity catalog {e(report.catalog_version)}. "
        f"{e(REDACTED_NOTE) if report.redacted else ''}"
        f"{' ' + e(report.numbers) if report.numbers else ''}</p>"
        + (_table(["Input", "Kind", "Bytes", "SHA-256"], rows, numeric=(2,)) if rows else "")
        + (f"<ul>{notes}</ul>" if notes else "")
    )


def _findings(report: Report) -> str:
    if not report.findings:
        return '<h2 id="findings">Findings</h2><p>No identity was found.</p>'
    rows = []
    for f in report.findings:
        how = f.where + (" (injected in transit)" if f.injected else "")
        rows.append(
            [
                e(KIND_WORDS.get(f.kind, f.kind)),
                value(f.shown),
                value(f.name),
                e(how),
                f'<span class="sev-{e(f.severity)}">{e(f.severity)}</span>',
                e(when(f.first)),
                e(when(f.last)),
                e(f.count),
                e(len(f.hosts)),
            ]
        )
    return '<h2 id="findings">Findings</h2>' + _table(
        [e(column) for column in FINDING_COLUMNS],
        rows,
        numeric=(7, 8),
    )


def _exposure(report: Report) -> str:
    x = report.exposure
    if not x.hosts:
        return '<h2 id="exposure">Exposure</h2><p>No site received an identity.</p>'
    rows = [
        [
            value(host),
            *(e(x.counts[i][j] or "") for i in range(len(x.identities))),
            e(x.requests[j]),
        ]
        for j, host in enumerate(x.hosts)
    ]
    # An identity's value may be long and unbroken (a tracking token): it wraps.
    findings = {f.label: f for f in report.findings}
    head = ["Site", *(_identity(findings[i]) for i in x.identities), e(EXPOSURE_TOTAL)]
    return (
        f'<h2 id="exposure">Exposure</h2><p>{e(EXPOSURE_INTRO)}</p>'
        + _table(head, rows, numeric=tuple(range(1, len(head))))
        + f"<figure>{_exposure_chart(x)}<figcaption>{e(EXPOSURE_CAPTION)}</figcaption></figure>"
    )


def _identity(finding: FindingRow) -> str:
    """An exposure column's head: the identity's kind in words, then its value (or,
    not logged, the name it came under)."""
    if not finding.value:
        return e(finding.label)
    return f"{e(finding.words)} {value(finding.value)}"


def _injection(report: Report) -> str:
    head = '<h2 id="injection">Injection</h2>'
    if not report.injections:
        return head + (
            f"<p>{e(counted(report.echoed, 'request'))} echoed by a reflector, none altered "
            "on the way. Without an echo nothing here shows directly what was added in "
            "transit: a capture on the phone's side of requests to "
            f"<code>headerwatch reflect</code> shows it. {e(echo_trust(report))}</p>"
        )
    by_vantage: dict[str, list[list[str]]] = {}
    for i in report.injections:
        by_vantage.setdefault(i.vantage, []).append(
            [
                e(i.record),
                e(when(i.ts)),
                value(i.host),
                _headers(i.added),
                _headers(i.removed),
                "<br>".join(value(f"{n}: {a} → {b}") for n, a, b in i.changed) or "—",
                value(", ".join(i.identities) or "—"),
            ]
        )
    echoed = max(report.echoed, len(report.injections))
    out = [
        head,
        f"<p>{e(counted(echoed, 'request'))} echoed by a reflector, "
        f"{len(report.injections)} altered on the way. {e(echo_trust(report))} What each "
        "echo shows the network did:</p>",
    ]
    for vantage, rows in by_vantage.items():
        out.append(f"<h3>Seen from {e(vantage)}</h3>")
        out.append(_table(["#", "Time", "Site", "Added", "Removed", "Changed", "Identities"], rows))
    return "".join(out)


def _limits(report: Report) -> str:
    rows = [[e(x.what), e(x.figure), e(x.why)] for x in report.limits]
    intro = f"<p>{e(report.limits_intro)}</p>"
    table = _table(["What", "Count", "Why"], rows, numeric=(1,))
    return f'<h2 id="not-inspected">Not inspected</h2>{intro}{table}'


def _method(report: Report) -> str:
    det = "".join(f"<li><code>{e(d)}</code>: {e(w)}</li>" for d, w in report.detectors)
    hdr = "".join(
        f"<li><code>{e(n)}</code>: {e(d)}. <span class='muted'>Source: {e(s)}</span></li>"
        for n, d, s in report.headers
    )
    src = "".join(f"<li><code>{e(a)}</code>: {e(t)}</li>" for a, t in report.sources)
    return (
        '<h2 id="method">Method</h2>'
        "<p>headerwatch reassembled the TCP connections of the capture (or read the "
        "request records), parsed each HTTP/1.x request, and looked for identities in "
        "every header, cookie and URL or form parameter. Where a reflector "
        "(<code>headerwatch reflect</code>) echoed a request, the header block sent was "
        "compared with the one received: what differs was added, removed or changed on "
        "the way. "
        + (
            "Findings by detector:"
            if report.findings
            else "No detector found anything; those that ran:"
        )
        + "</p>"
        f"<ul>{det}</ul>"
        + (f"<p>Catalog entries behind the findings:</p><ul>{hdr}</ul>" if hdr else "")
        + (f"<p>Sources cited:</p><ul>{src}</ul>" if src else "")
    )


def _appendix(report: Report) -> str:
    if not report.appendix:
        return '<h2 id="appendix">Appendix</h2><p>No request carried an identity.</p>'
    sources = {a.source for a in report.appendix}
    many = len(sources) > 1  # one input: named once, not on every row
    # No frame number at all (request records): no column of dashes.
    framed = any(a.frame is not None for a in report.appendix)
    rows = [
        [
            e(a.record),
            e(when(a.ts)),
            value(a.host),
            value(a.findings),
            *([value(a.source)] if many else []),
            *([e(a.frame if a.frame is not None else "—")] if framed else []),
            value(a.flow),
        ]
        for a in report.appendix
    ]
    only = next(iter(sources))
    where = "" if many or not only else f" All are in <code>{e(only)}</code>."
    head = ["#", "Time", "Site", "Identities", *(["Input"] if many else [])]
    head += [*(["Frame"] if framed else []), "Connection"]
    intro = f"<p>{e(report.appendix_intro)}{where}</p>"
    return f'<h2 id="appendix">Appendix</h2>{intro}' + _table(head, rows)


def _study_method() -> str:
    return f'<h2 id="method">Method</h2><p>{e(STUDY_METHOD)}</p>'


def _study(study: Study) -> str:
    out = ['<h2 id="study">Networks tested</h2>']
    out.append(
        _table(
            NETWORK_COLUMNS,
            [
                [
                    e(n.name),
                    e(n.tests),
                    *(e(n.count(verdict)) for verdict in VERDICTS),
                    value(n.added),
                ]
                for n in study.networks
            ],
            numeric=(1, 2, 3, 4, 5),
        )
    )
    out.append(
        bar_chart(
            "Tests per network, by verdict",
            [n.name for n in study.networks],
            VERDICTS,
            [[n.count(verdict) for n in study.networks] for verdict in VERDICTS],
        )
    )
    for net in study.networks:
        out.append(f"<h3>{e(net.name)}</h3>")
        out.append(
            f"<p>{e(counted(net.tests, 'test'))}: {net.injected} injected, {net.arrived} "
            f"arrived with identity, {net.clean} clean, {net.inconclusive} inconclusive. "
            f"Headers added or changed on the way: {e(net.added)}.</p>"
        )
        out.append(
            _table(
                ["Time", "Test", "Verdict", "Why", "Headers added or changed", "Identities"],
                [
                    [
                        e(when(t.ts)),
                        value(t.target),
                        f"<strong>{e(t.verdict)}</strong>",
                        e(t.why),
                        value(", ".join(t.headers) or "—"),
                        value(", ".join(t.identities) or "—"),
                    ]
                    for t in net.tests_list
                ],
            )
        )
    return "".join(out)
