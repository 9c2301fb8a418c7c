"""``rules --format suricata|zeek|arkime``: the catalog as other engines' rules,
checked by the engines' own tooling where it installs with pip (suricata-check;
zeekscript, Zeek's tree-sitter parser); Arkime's YAML is only parsed as YAML."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import yaml
import zeekscript

from capture.identity.catalog import load_catalog, make_entry
from capture.identity.engine_rules import (
    SID_BASE,
    SID_SPAN,
    arkime_rules,
    references,
    sids,
    suricata_rules,
    zeek_script,
)
from capture.identity.names import normalize_name

CATALOG = load_catalog()


def _rules() -> list[str]:
    return [line for line in suricata_rules(CATALOG).splitlines() if line.startswith("alert")]


def test_suricata_check_finds_nothing_in_the_suricata_rules_but_the_missing_created_at(
    tmp_path: Path,
) -> None:
    path = tmp_path / "headerwatch.rules"
    path.write_text(suricata_rules(CATALOG))
    out = tmp_path / "out"
    out.mkdir()
    checker = Path(sys.executable).parent / "suricata-check"
    result = subprocess.run(
        [str(checker), "-r", str(path), "-o", str(out), "--log-level", "WARNING"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    # A rule suricata-check cannot parse, or an option it does not know, is logged
    # as a warning or an error.
    assert "WARNING" not in result.stdout + result.stderr
    assert "ERROR" not in result.stdout + result.stderr
    reports = [json.loads(line) for line in (out / "suricata-check.jsonl").read_text().splitlines()]
    assert len(reports) == len(CATALOG) == len(_rules())
    # created_at would be a date made up: the catalog does not date its entries.
    codes = {issue["code"] for report in reports for issue in report["issues"]}
    assert codes == {"C101"}


def test_each_suricata_rule_matches_its_header_name_in_the_header_names_buffer() -> None:
    numbers = sids(CATALOG)
    for entry, rule in zip(
        sorted(CATALOG.entries, key=lambda e: numbers[e.key]), _rules(), strict=True
    ):
        longest = max(re.split(r"[-_.]", entry.name), key=len)
        assert f'http.header_names; content:"{longest}"; nocase; pcre:"/\\r\\n(' in rule
        assert f"sid:{numbers[entry.key]}; rev:1;" in rule
        assert "flow:established,to_server;" in rule
        for url in references(entry, CATALOG)[:3]:
            assert f"reference:url,{url.split('://', 1)[1]};" in rule
    assert any("reference:url,blog.jgc.org/" in rule for rule in _rules())


def test_sids_are_unique_in_their_range_and_stay_when_an_entry_is_added() -> None:
    numbers = sids(CATALOG)
    assert len(set(numbers.values())) == len(numbers) == len(CATALOG)
    assert all(SID_BASE <= n < SID_BASE + SID_SPAN for n in numbers.values())
    grown = CATALOG.customized([make_entry("x-carrier-subscriber", "subscriber_id", "high")])
    again = sids(grown)
    assert {k: again[k] for k in numbers} == numbers


def test_a_header_name_with_rule_syntax_in_it_is_written_as_hex() -> None:
    odd = CATALOG.customized([make_entry('x-"a;b|c', "msisdn", "high")])
    [rule] = [r for r in suricata_rules(odd).splitlines() if 'content:"|22|a|3b|b|7c|c"' in r]
    assert 'msg:"HEADERWATCH IDENTITY x-ab|c header (msisdn)"' in rule
    assert 'pcre:"/\\r\\n(http[-_.])?x[-_.]\\x22a\\x3bb\\x7cc\\r\\n/i";' in rule
    assert _suricata_fires(rule, ["Host", 'X_"A;B|C'])


def test_the_zeek_script_parses_with_zeeks_own_parser_and_names_every_header(
    tmp_path: Path,
) -> None:
    path = tmp_path / "headerwatch-identity.zeek"
    text = zeek_script(CATALOG)
    path.write_text(text)
    script = zeekscript.Script(str(path))
    assert script.parse() and not script.has_error(), script.get_error()
    for entry in CATALOG.entries:
        assert f'\t\t["{entry.name.upper()}"] = "{entry.kind}, ' in text
    # The handler's signature is the one Zeek's own header-names.zeek uses.
    assert "event http_header(c: connection, is_orig: bool, name: string, value: string)" in text
    broken = tmp_path / "broken.zeek"
    broken.write_text(text.replace("\t}\n", "", 1).replace("event http_header(", "event ("))
    script = zeekscript.Script(str(broken))
    assert not script.parse() or script.has_error()


def test_the_arkime_rules_file_is_yaml_in_arkimes_rule_shape() -> None:
    data = yaml.safe_load(arkime_rules(CATALOG))
    assert data["version"] == 1
    names = set()
    for rule in data["rules"]:
        assert set(rule) == {"name", "when", "fields", "ops"} and rule["when"] == "fieldSet"
        assert re.fullmatch(r"headerwatch-[a-z_]+", rule["ops"]["tags"])
        # Arkime looks a rule's fields up by expression and exits on an unknown one: the
        # request's header names are "http.hasheader.src" (capture/parsers/http.c).
        assert set(rule["fields"]) == {"http.hasheader.src"}
        names.update(rule["fields"]["http.hasheader.src"])
        for name in rule["fields"]["http.hasheader.src"]:
            entry = CATALOG.lookup(normalize_name(name))
            assert entry is not None and rule["ops"]["tags"] == f"headerwatch-{entry.kind}"
    assert names >= {e.name.lower() for e in CATALOG.entries}


def _spellings(name: str) -> list[str]:
    """The ways a gateway spells a catalog header on the wire, which headerwatch's
    detector reads as that header: ``_`` or ``.`` for ``-`` (``x_mti_email``, the
    catalog's own source's spelling), mixed (``TM_user-id``), any case."""
    parts = re.split(r"[-_.]", name)
    mixed = parts[0] + "".join(("_" if i % 2 else "-") + p for i, p in enumerate(parts[1:]))
    return [name, name.upper(), "_".join(parts), ".".join(parts).upper(), mixed.title()]


def _suricata_fires(rule: str, names: list[str]) -> bool:
    """Whether ``rule`` alerts on a request with these header names, as Suricata's
    ``http.header_names`` buffer holds them (each name after CRLF, a CRLF at the end):
    every ``content`` found (all are ``nocase``) and every ``pcre`` matching."""
    buffer = "\r\n" + "\r\n".join(names) + "\r\n\r\n"
    for content in re.findall(r'content:"([^"]*)"; nocase;', rule):
        text = re.sub(r"\|([0-9a-f ]+)\|", lambda m: bytes.fromhex(m.group(1)).decode(), content)
        if text.lower() not in buffer.lower():
            return False
    for pattern, flags in re.findall(r'pcre:"/(.*)/([a-zA-Z]*)";', rule):
        if re.search(pattern, buffer, re.IGNORECASE if "i" in flags else 0) is None:
            return False
    return True


def test_each_suricata_rule_fires_on_every_spelling_the_detector_reads_as_its_header() -> None:
    numbers = sids(CATALOG)
    rules = dict(zip(sorted(numbers, key=numbers.__getitem__), _rules(), strict=True))
    for entry in CATALOG.entries:
        # CGI's spelling too, which the detector reads (a sensor before a server that
        # logs its environment).
        cgi = "HTTP_" + entry.name.replace("-", "_").upper()
        for spelling in [*_spellings(entry.name), cgi]:
            assert CATALOG.lookup(normalize_name(spelling)) == entry, spelling
            names = ["Host", "User-Agent", spelling, "Accept"]
            assert _suricata_fires(rules[entry.key], names), (spelling, rules[entry.key])
        # And on no name that only holds the header's.
        assert not _suricata_fires(rules[entry.key], ["Host", f"x-not-{entry.name}"])
        assert not _suricata_fires(rules[entry.key], ["Host", f"{entry.name}-not"])


def test_the_zeek_script_looks_up_every_spelling_the_detector_reads_as_its_header() -> None:
    zeek = zeek_script(CATALOG)
    keys = set(re.findall(r'^\t\t\["([^"]+)"\] = ', zeek, re.MULTILINE))
    # The handler's key, read back from the script: Zeek gives the name upper-cased,
    # then the script's gsub and sub, applied as Zeek applies them.
    [(gsub_pattern, gsub_to)] = re.findall(r'gsub\(name, /(.+?)/, "(.*?)"\)', zeek) or [("", "")]
    [(sub_pattern, sub_to)] = re.findall(r'sub\(gsub\(.*?\), /(.+?)/, "(.*?)"\)', zeek) or [
        ("^$", "")
    ]
    for entry in CATALOG.entries:
        cgi = "HTTP_" + entry.name.replace("-", "_").upper()
        for spelling in [*_spellings(entry.name), cgi]:
            key = spelling.upper()
            if gsub_pattern:
                key = re.sub(sub_pattern, sub_to, re.sub(gsub_pattern, gsub_to, key))
            assert key in keys, spelling


def test_the_arkime_rules_tag_every_wire_spelling_the_detector_reads_as_its_header() -> None:
    arkime = {
        name: rule["ops"]["tags"]
        for rule in yaml.safe_load(arkime_rules(CATALOG))["rules"]
        for name in rule["fields"]["http.hasheader.src"]
    }
    for entry in CATALOG.entries:
        # CGI's spelling too, as the Suricata and Zeek rules: Arkime keeps the name as
        # sent, so a gateway that sends HTTP_X_MSISDN is seen as http_x_msisdn.
        cgi = "HTTP_" + entry.name.replace("-", "_").upper()
        for spelling in [*_spellings(entry.name), cgi, "http-" + entry.name]:
            assert CATALOG.lookup(normalize_name(spelling)) == entry, spelling
            # Arkime keeps request header names lower-cased.
            assert arkime.get(spelling.lower()) == f"headerwatch-{entry.kind}", spelling


def test_a_header_name_longer_than_arkime_keeps_is_listed_as_arkime_keeps_it() -> None:
    # Arkime's HTTP parser copies a header name into 40 bytes (capture/parsers/http.c,
    # char header[2][40]): it stores, and a rule must name, the first 39 characters.
    long_name = "x-operator-subscriber-msisdn-forwarded-by-gateway"  # 49
    grown = CATALOG.customized([make_entry(long_name, "msisdn", "high")])
    listed = {
        name
        for rule in yaml.safe_load(arkime_rules(grown))["rules"]
        for name in rule["fields"]["http.hasheader.src"]
    }
    assert long_name[:39] in listed and long_name not in listed
    assert "http_x_operator_subscriber_msisdn_forwar" not in listed
    assert "http_x_operator_subscriber_msisdn_forwa" in listed
    assert all(len(name) <= 39 for name in listed)
