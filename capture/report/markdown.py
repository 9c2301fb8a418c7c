"""An evidence report as CommonMark with GFM tables (a blog post, a repository, a PDF
through pandoc). Values are backslash-escaped, so markup in a header value shows as
text; there is no chart (the HTML report has it), the tables carry the same data."""

from __future__ import annotations

import re
from collections.abc import Sequence

from capture.report.html import when
from capture.report.model import (
    EXPOSURE_INTRO,
    EXPOSURE_TOTAL,
    FINDING_COLUMNS,
    KIND_WORDS,
    MASKED_ALREADY,
    REDACTED_NOTE,
    Report,
    echo_trust,
)
from capture.report.study import NETWORK_COLUMNS, STUDY_METHOD, VERDICTS, Study
from capture.text import counted

# CommonMark: "Any ASCII punctuation character may be backslash-escaped". These are
# the ones that start markup, inline or in a table cell; '<' and '&' would start
# raw HTML and entities.
_MARKUP = re.compile(r"([\\`*_{}\[\]<>()#+!|~&\"'=-])")


def m(text: object) -> str:
    """Text as Markdown: every character that could start markup escaped."""
    return _MARKUP.sub(r"\\\1", str(text))


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A GFM table; cells are already Markdown."""
    out = ["| " + " | ".join(m(h) for h in head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    out.append("")
    return out


def render(report: Report, study: Study | None = None) -> str:
    """The whole report as Markdown."""
    out = [f"# {m(report.title)}", ""]
    if report.masked_already:
        out += [f"**{m(MASKED_ALREADY)}**", ""]
    elif not report.redacted:
        out += [
            "**This report holds raw identities (written with \\-\\-no\\-redact): phone "
            "numbers, SIM and handset identities appear as captured. Share it only with "
            "people entitled to see them.**",
            "",
        ]
    out += [f"**{m(report.lead)}**", ""]
    if study is not None:
        out += _study(study) + _context(report) + ["## Method", "", m(STUDY_METHOD), ""]
    else:
        out += (
            _context(report)
            + _findings(report)
            + _exposure(report)
            + _injection(report)
            + _limits(report)
            + _method(report)
            + _appendix(report)
        )
    return "\n".join(out)


def _context(report: Report) -> list[str]:
    masked = f" {REDACTED_NOTE}" if report.redacted else ""
    out = [
        "## Context",
        "",
        m(
            f"Traffic from {when(report.first_ts)} to {when(report.last_ts)}: "
            f"{counted(report.requests, 'HTTP request')}, "
            f"{counted(report.identity_requests, 'request')} carrying an identity. Report "
            f"written {when(report.created)} by headerwatch {report.version} with identity "
            f"catalog {report.catalog_version}.{masked}"
            + (f" {report.numbers}" if report.numbers else "")
        ),
        "",
    ]
    if report.inputs:  # none for a live capture kept in no file
        out += _table(
            ["Input", "Kind", "Bytes", "SHA-256"],
            [
                [m(i.name), m(i.kind), f"{i.size:,}" if i.size is not None else "—", m(i.sha256)]
                for i in report.inputs
            ],
        )
    out += [f"- {m(n)}" for n in report.notes]
    return out + ([""] if report.notes else [])


def _findings(report: Report) -> list[str]:
    out = ["## Findings", ""]
    if not report.findings:
        return [*out, "No identity was found.", ""]
    return out + _table(
        FINDING_COLUMNS,
        [
            [
                m(KIND_WORDS.get(f.kind, f.kind)),
                m(f.shown),
                m(f.name),
                m(f.where + (" (injected in transit)" if f.injected else "")),
                m(f.severity),
                m(when(f.first)),
                m(when(f.last)),
                str(f.count),
                str(len(f.hosts)),
            ]
            for f in report.findings
        ],
    )


def _exposure(report: Report) -> list[str]:
    x = report.exposure
    out = ["## Exposure", ""]
    if not x.hosts:
        return [*out, "No site received an identity.", ""]
    out += [m(EXPOSURE_INTRO), ""]
    return out + _table(
        ["Site", *x.identities, EXPOSURE_TOTAL],
        [
            [
                m(host),
                *(str(x.counts[i][j] or "") for i in range(len(x.identities))),
                str(x.requests[j]),
            ]
            for j, host in enumerate(x.hosts)
        ],
    )


def _pairs(pairs: Sequence[tuple[str, str]]) -> str:
    return "<br>".join(m(f"{n}: {v}") for n, v in pairs) or "—"


def _injection(report: Report) -> list[str]:
    out = ["## Injection", ""]
    if not report.injections:
        return [
            *out,
            m(
                f"{counted(report.echoed, 'request')} echoed by a reflector, none altered on "
                "the way. Without an echo nothing here shows directly what was added in "
                "transit: a capture on the phone's side of requests to headerwatch reflect "
                f"shows it. {echo_trust(report)}"
            ),
            "",
        ]
    echoed = max(report.echoed, len(report.injections))
    out += [
        m(
            f"{counted(echoed, 'request')} echoed by a reflector, {len(report.injections)} "
            f"altered on the way. {echo_trust(report)} What each echo shows the network did:"
        ),
        "",
    ]
    by_vantage: dict[str, list[list[str]]] = {}
    for i in report.injections:
        by_vantage.setdefault(i.vantage, []).append(
            [
                str(i.record),
                m(when(i.ts)),
                m(i.host),
                _pairs(i.added),
                _pairs(i.removed),
                "<br>".join(m(f"{n}: {a} → {b}") for n, a, b in i.changed) or "—",
                m(", ".join(i.identities) or "—"),
            ]
        )
    for vantage, rows in by_vantage.items():
        out += [f"### Seen from {m(vantage)}", ""]
        out += _table(["#", "Time", "Site", "Added", "Removed", "Changed", "Identities"], rows)
    return out


def _limits(report: Report) -> list[str]:
    return [
        "## Not inspected",
        "",
        m(report.limits_intro),
        "",
        *_table(["What", "Count", "Why"], [[m(x.what), x.figure, m(x.why)] for x in report.limits]),
    ]


def _method(report: Report) -> list[str]:
    out = [
        "## Method",
        "",
        "headerwatch reassembled the TCP connections of the capture (or read the request "
        "records), parsed each HTTP/1.x request, and looked for identities in every header, "
        "cookie and URL or form parameter. Where a reflector echoed a request, the header "
        "block sent was compared with the one received. "
        + (
            "Findings by detector:"
            if report.findings
            else "No detector found anything; those that ran:"
        ),
        "",
    ]
    out += [f"- {m(d)}: {m(w)}" for d, w in report.detectors] + [""]
    if report.headers:
        out += ["Catalog entries behind the findings:", ""]
        out += [f"- {m(n)}: {m(d)}. Source: {m(s)}" for n, d, s in report.headers] + [""]
    if report.sources:
        out += ["Sources cited:", ""]
        out += [f"- {m(a)}: {m(t)}" for a, t in report.sources] + [""]
    return out


def _appendix(report: Report) -> list[str]:
    out = ["## Appendix", ""]
    if not report.appendix:
        return [*out, "No request carried an identity.", ""]
    sources = {a.source for a in report.appendix}
    many = len(sources) > 1  # one input: named once, not on every row
    only = next(iter(sources))
    where = "" if many or not only else f" All are in {m(only)}."
    out += [m(report.appendix_intro) + where, ""]
    # No frame number at all (request records): no column of dashes.
    framed = any(a.frame is not None for a in report.appendix)
    head = ["#", "Time", "Site", "Identities", *(["Input"] if many else [])]
    head += [*(["Frame"] if framed else []), "Connection"]
    return out + _table(
        head,
        [
            [
                str(a.record),
                m(when(a.ts)),
                m(a.host),
                m(a.findings),
                *([m(a.source)] if many else []),
                *([str(a.frame) if a.frame is not None else "—"] if framed else []),
                m(a.flow),
            ]
            for a in report.appendix
        ],
    )


def _study(study: Study) -> list[str]:
    out = ["## Networks tested", ""]
    out += _table(
        NETWORK_COLUMNS,
        [
            [
                m(n.name),
                str(n.tests),
                *(str(n.count(verdict)) for verdict in VERDICTS),
                m(n.added),
            ]
            for n in study.networks
        ],
    )
    for net in study.networks:
        out += [f"### {m(net.name)}", ""]
        out += _table(
            ["Time", "Test", "Verdict", "Why", "Headers added or changed", "Identities"],
            [
                [
                    m(when(t.ts)),
                    m(t.target),
                    f"**{m(t.verdict)}**",
                    m(t.why),
                    m(", ".join(t.headers) or "—"),
                    m(", ".join(t.identities) or "—"),
                ]
                for t in net.tests_list
            ],
        )
    return out
