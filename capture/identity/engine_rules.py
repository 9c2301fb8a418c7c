"""The identity catalog as other engines' rules: Suricata signatures, a Zeek script
raising a Notice, an Arkime rules file (``headerwatch rules --format``).

Each writer is a pure function from a :class:`~capture.identity.catalog.Catalog`
to text; :data:`RULE_FORMATS` is the table ``rules --format`` offers.

What the rules match, and what they cannot: a request header that headerwatch's
catalog lookup reads as a catalog entry, in any case and with ``-``, ``_`` and ``.``
alike (``x_mti_email``, the spelling its source gives; ``TM_user-id``), and with
CGI's ``HTTP_`` prefix (``HTTP_X_MSISDN``). headerwatch itself also looks at
values (phone numbers, IMEIs and IMSIs under any name, canaries, recurrence) and at
cookies and query parameters: the engines' rules are a first filter, not the same
detector.
"""

from __future__ import annotations

import itertools
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from capture.identity.catalog import Catalog, CatalogEntry

SID_BASE = 1_960_000
"""First Suricata SID headerwatch uses; with :data:`SID_SPAN`, the range
1,960,000-1,999,999: inside 1,000,000-1,999,999, the range sidallocation.org
(the SID registry of Emerging Threats, OISF and other rule writers) reserves for
local use, so no published ruleset collides with it."""
SID_SPAN = 40_000


def sids(catalog: Catalog) -> dict[str, int]:
    """A stable SID per catalog entry (by normalised name): :data:`SID_BASE` plus the
    CRC-32 of the name modulo :data:`SID_SPAN`, so that an entry keeps its SID when
    others are added or removed. Names whose SIDs collide take the next free one,
    in name order."""
    taken: set[int] = set()
    out: dict[str, int] = {}
    for key in sorted(e.key for e in catalog.entries):
        offset = zlib.crc32(key.encode("utf-8", "surrogateescape")) % SID_SPAN
        while SID_BASE + offset in taken:
            offset = (offset + 1) % SID_SPAN
        taken.add(SID_BASE + offset)
        out[key] = SID_BASE + offset
    return out


_URL = re.compile(r"https?://[^\s;,()\"']+")


def references(entry: CatalogEntry, catalog: Catalog) -> list[str]:
    """The URLs of the sources an entry cites (its own text, then the abbreviations
    it uses, spelled out in the catalog's ``[sources]``), without repeats."""
    texts = [entry.source]
    texts += [meaning for abbr, meaning in catalog.sources.items() if abbr in entry.source]
    seen: dict[str, None] = {}
    for text in texts:
        for url in _URL.findall(text):
            seen.setdefault(url.rstrip(".:"), None)
    return list(seen)


def _rule_text(text: str) -> str:
    """Text safe inside a Suricata ``msg`` (no quote, semicolon or backslash)."""
    return re.sub(r"[\"\\;]", "", text)


def _content(name: str) -> str:
    """A header name as Suricata content: printable ASCII kept, the rest as hex."""
    out = []
    for byte in name.encode("utf-8", "surrogateescape"):
        char = chr(byte)
        if 0x21 <= byte < 0x7F and char not in '";\\|:':
            out.append(char)
        else:
            out.append(f"|{byte:02x}|")
    return "".join(out).replace("||", " ")


_SEPARATOR = "[-_.]"
"""What :func:`~capture.identity.names.normalize_name` reads as one separator, as a
regex class (Python's, PCRE's and Zeek's alike)."""


def _pieces(name: str) -> list[str]:
    """A header name without its separators: what every spelling of it shares."""
    return re.split(_SEPARATOR, name.lower())


def _pcre(name: str) -> str:
    """A PCRE for the name as one whole entry of Suricata's ``http.header_names``
    buffer, in every spelling the detector reads as it: any separator between its
    pieces and an optional CGI ``http_`` prefix. Every byte other than a letter or
    digit is written ``\\xHH``, so nothing in a name is rule or regex syntax."""

    def escaped(piece: str) -> str:
        return "".join(
            chr(byte) if chr(byte).isascii() and chr(byte).isalnum() else f"\\x{byte:02x}"
            for byte in piece.encode("utf-8", "surrogateescape")
        )

    body = _SEPARATOR.join(escaped(piece) for piece in _pieces(name))
    # A group, not (?:...): suricata-check (S121) takes that colon for one unescaped.
    return rf"/\r\n(http{_SEPARATOR})?{body}\r\n/i"


def suricata_rules(catalog: Catalog) -> str:
    """One Suricata rule per catalog entry: an alert when a request carries the header
    (``http.header_names``, whose buffer is each name between CRLFs) in any of its
    spellings (its longest piece as the fast pattern, then :func:`_pcre`), with the
    entry's kind in ``msg``, its severity as ``signature_severity`` (high: Major,
    medium: Minor, else Informational) and its sources' URLs in ``reference``."""
    numbers = sids(catalog)
    lines = [
        "# headerwatch identity headers as Suricata rules (headerwatch rules --format suricata).",
        f"# SIDs {SID_BASE:,}-{SID_BASE + SID_SPAN - 1:,}, stable per header name. Suricata 7+.",
        "# They match each header in any case, with -, _ and . alike, as headerwatch does;",
        "# headerwatch also reads values.",
    ]
    for entry in sorted(catalog.entries, key=lambda e: numbers[e.key]):
        severity = {"high": "Major", "medium": "Minor"}.get(entry.severity, "Informational")
        refs = "".join(
            f" reference:url,{url.split('://', 1)[1]};" for url in references(entry, catalog)[:3]
        )
        # The client is who the header exposes: the target is the source address.
        lines.append(
            "alert http $HOME_NET any -> $EXTERNAL_NET any ("
            f'msg:"HEADERWATCH IDENTITY {_rule_text(entry.name)} header ({entry.kind})"; '
            "flow:established,to_server; "
            f'http.header_names; content:"{_content(max(_pieces(entry.name), key=len))}"; '
            f'nocase; pcre:"{_pcre(entry.name)}"; '
            f"target:src_ip;{refs} classtype:policy-violation; "
            f"sid:{numbers[entry.key]}; rev:1; "
            "metadata:attack_target Client_Endpoint, deployment Perimeter, "
            f"performance_impact Low, signature_severity {severity};)"
        )
    return "\n".join(lines) + "\n"


def _zeek_string(text: str) -> str:
    return '"' + re.sub(r'["\\]', lambda m: "\\" + m.group(0), text).replace("\n", " ") + '"'


def zeek_script(catalog: Catalog) -> str:
    """A Zeek script: a Notice (``Headerwatch::Identity_Header``) when a client sends
    a catalog header (``http_header`` event; Zeek gives names upper-cased), looked up
    as the detector looks it up: ``_`` and ``.`` read as ``-``, no CGI ``HTTP-``."""
    rows = ",\n".join(
        f"\t\t[{_zeek_string('-'.join(_pieces(e.name)).upper())}] = "
        + _zeek_string(f"{e.kind}, {e.severity}: {e.description}")
        for e in sorted(catalog.entries, key=lambda e: e.key)
    )
    return f"""##! headerwatch identity headers as a Zeek Notice (headerwatch rules --format zeek).
##! Load it (zeek local.zeek headerwatch-identity.zeek, or @load it from local.zeek).
##! A Notice per request that sends one of the headers below, to the notice log.

@load base/frameworks/notice
@load base/protocols/http

module Headerwatch;

export {{
	redef enum Notice::Type += {{
		## A client sent an HTTP request header that carries a subscriber or
		## device identity (headerwatch's catalog).
		Identity_Header,
	}};

	## The headers, upper-cased as Zeek's http_header event gives them, with
	## "-" for "_" and "." (the handler's key), and what each carries.
	const identity_headers: table[string] of string = {{
{rows}
	}} &redef;

	## Whether the Notice's sub field holds the header's value (the identity).
	option log_values = T;
}}

event http_header(c: connection, is_orig: bool, name: string, value: string)
	{{
	if ( ! is_orig )
		return;

	# x_msisdn, x.msisdn and CGI's HTTP_X_MSISDN are X-MSISDN, as headerwatch reads them.
	local key = sub(gsub(name, /[_.]/, "-"), /^HTTP-/, "");
	if ( key !in identity_headers )
		return;

	local host = c?$http && c$http?$host ? c$http$host : cat(c$id$resp_h);
	NOTICE([$note=Identity_Header,
		$msg=fmt("%s sent to %s (%s)", name, host, identity_headers[key]),
		$sub=log_values ? value : "",
		$conn=c,
		$identifier=cat(c$id$orig_h, key, host)]);
	}}
"""


def _yaml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _wire_spellings(name: str) -> list[str]:
    """Every lower-case spelling of a header name that the detector reads as it: each
    separator ``-``, ``_`` or ``.`` (``tm_user-id``), the name as written first; then
    each of those after CGI's ``http_`` prefix, itself with any separator
    (``http_x_msisdn``), as the Suricata and Zeek rules take it. Arkime keeps a name
    as it was sent, lower-cased, so a gateway that sends ``HTTP_X_MSISDN`` on the wire
    is seen as that. A rule matches field values exactly, so they are listed: 4 times
    3 to the number of separators (972 for the longest catalog name)."""
    pieces = _pieces(name)
    spellings = [
        pieces[0] + "".join(sep + piece for sep, piece in zip(seps, pieces[1:], strict=True))
        for seps in itertools.product("-_.", repeat=len(pieces) - 1)
    ]
    first = name.lower()
    bare = [first, *(s for s in dict.fromkeys(spellings) if s != first)]
    return bare + [f"http{sep}{spelling}" for sep in "_-." for spelling in bare]


ARKIME_REQUEST_HEADERS = "http.hasheader.src"
"""The Arkime field expression of a request's header names ("Request has header
present", stored as ``http.requestHeader``; ``capture/parsers/http.c``), each name
lower-cased as sent. A rule's ``fields`` are looked up by expression
(``arkime_field_by_exp`` in ``capture/rules.c``), and capture exits on one that is not
defined: ``http.request-header``, written here before, is none."""


ARKIME_NAME_KEPT = 39
"""Characters of a header name Arkime keeps: its HTTP parser copies a name into a
40-byte buffer (``char header[2][40]`` in ``capture/parsers/http.c``), so a longer
name is stored, and matched, as its first 39."""


def arkime_rules(catalog: Catalog) -> str:
    """An Arkime rules file: one rule per identity kind that tags the sessions whose
    requests carry one of its headers (:data:`ARKIME_REQUEST_HEADERS`, the request
    header names, which Arkime keeps lower-cased) in any spelling
    (:func:`_wire_spellings`), each as Arkime keeps it (:data:`ARKIME_NAME_KEPT`)."""
    by_kind: dict[str, dict[str, None]] = {}  # each kind's names, in order, once
    for entry in sorted(catalog.entries, key=lambda e: e.key):
        names = by_kind.setdefault(entry.kind, {})
        for spelling in _wire_spellings(entry.name):
            names[spelling[:ARKIME_NAME_KEPT]] = None
    lines = [
        "# headerwatch identity headers as Arkime rules (headerwatch rules --format arkime).",
        "# Add to config.ini: rulesFiles=/etc/arkime/headerwatch-rules.yaml",
        "# Then search in Arkime: tags == headerwatch-* (or tags == headerwatch-msisdn, ...).",
        "---",
        "version: 1",
        "rules:",
    ]
    for kind, names in sorted(by_kind.items()):
        lines += [
            f"  - name: {_yaml_string(f'headerwatch {kind} headers')}",
            '    when: "fieldSet"',
            "    fields:",
            f"      {ARKIME_REQUEST_HEADERS}:",
            *(f"        - {_yaml_string(name)}" for name in names),
            "    ops:",
            f"      tags: {_yaml_string(f'headerwatch-{kind}')}",
        ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class RuleFormat:
    """One output of ``headerwatch rules --format``."""

    name: str
    what: str
    write: Callable[[Catalog], str]


RULE_FORMATS = {
    f.name: f
    for f in (
        RuleFormat("suricata", "Suricata rules (http.header_names)", suricata_rules),
        RuleFormat("zeek", "a Zeek script raising a Notice (http_header event)", zeek_script),
        RuleFormat("arkime", "an Arkime rules file (tags by kind)", arkime_rules),
    )
}
"""The engine formats of ``rules --format`` (``table`` is the catalog as a table)."""
