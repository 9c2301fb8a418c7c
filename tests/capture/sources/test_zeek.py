"""Zeek http.log in, TSV and JSON: requests, header names (and values with the
zeek-log-all-http-headers package), names-only identity headers reported as such."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from capture.identity.detector import NAME_ONLY, IdentityConfig, IdentityDetector
from capture.model import NAMES_ONLY
from capture.scan import scan
from capture.sources.inputs import open_input
from capture.sources.records import RecordFile
from capture.sources.zeek import UPPER_CASED
from tests.conftest import REPO

ZEEK = REPO / "tests" / "data" / "engines" / "zeek"
MASKED = "XXXXXXXXXX.XXXXXX"  # btest masks every timestamp of a baseline


def _scan(path: Path, kind: str | None = "zeek") -> tuple[list[dict[str, Any]], str]:
    out, err = io.StringIO(), io.StringIO()
    scan([str(path)], detector=IdentityDetector(), out=out, err=err, jobs=1, kind=kind)
    return [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def _unmasked(name: str, tmp_path: Path) -> Path:
    path = tmp_path / name
    path.write_text((ZEEK / name).read_text().replace(MASKED, "1300475168.500000"))
    return path


_TSV_HEAD = (
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\thttp\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\ttrans_depth\tmethod\thost"
    "\turi\tversion\tuser_agent\tstatus_code\tclient_header_names{values}\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tcount\tstring\tstring\tstring\tstring"
    "\tstring\tcount\tvector[string]{types}\n"
)


def _tsv(tmp_path: Path, rows: list[str], values: bool = False) -> Path:
    head = _TSV_HEAD.format(
        values="\tclient_header_values" if values else "",
        types="\tvector[string]" if values else "",
    )
    path = tmp_path / "http.log"
    path.write_text(head + "".join(row + "\n" for row in rows) + "#close\t2026-12-03-10-00-00\n")
    return path


def test_zeeks_header_names_baseline_gives_the_requests_of_its_capture(
    pcaps_dir: Path, tmp_path: Path
) -> None:
    # testing/btest/Baseline/scripts.policy.protocols.http.header-names/http.log is
    # Zeek's own reading of wikipedia.pcap, which is in the corpus.
    from_log, err = _scan(_unmasked("header-names.http.log", tmp_path))
    out = io.StringIO()
    scan([str(pcaps_dir / "zeek" / "wikipedia.pcap")], out=out, err=io.StringIO(), jobs=1)
    from_pcap = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(from_log) == 14 and "passed over" not in err

    def key(r: dict[str, Any]) -> tuple[Any, ...]:
        return (r["src"], r["sport"], r["dst"], r["dport"], r["depth"], r["method"], r["uri"])

    by_key = {key(r): r for r in from_pcap}
    for record in from_log:
        twin = by_key[key(record)]
        assert record["host"] == twin["host"]
        assert [n for n, _ in record["headers"]] == [n.upper() for n, _ in twin["headers"]]
        assert record["anomalies"] == [NAMES_ONLY, UPPER_CASED]
        # Host, User-Agent and Referer are logged apart: their values are known.
        assert dict(record["headers"])["USER-AGENT"] == dict(twin["headers"])["User-Agent"]
    # The requests of one connection (one uid) share a flow number.
    flows = {(r["src"], r["sport"]): r["flow"] for r in from_log if r["depth"] == 1}
    assert all(flows[(r["src"], r["sport"])] == r["flow"] for r in from_log)


def test_zeeks_tsv_and_json_of_one_capture_give_the_same_requests_escapes_undone(
    pcaps_dir: Path, tmp_path: Path
) -> None:
    tsv, _ = _scan(_unmasked("json-non-printable-escaping.http.log.tsv", tmp_path))
    js, _ = _scan(_unmasked("json-non-printable-escaping.http.log.json", tmp_path))
    assert len(tsv) == len(js) == 4
    assert [r["uri"] for r in tsv] == [
        "/regular_file.html",
        "/printable_\N{SMILING FACE WITH OPEN MOUTH AND SMILING EYES}",
        "/non_printable_\x07",  # \x07 in the TSV is the byte 7
        "/non_printable_literal_\\x07",  # \\x07 is a backslash, then x07
    ]
    # Zeek's JSON writes both as \x07 text: they cannot be told apart there.
    assert js[2]["uri"] == js[3]["uri"].replace("literal_", "") == "/non_printable_\\x07"
    strip = ("uri", "flow", "id")
    assert [{k: v for k, v in r.items() if k not in strip} for r in tsv] == [
        {k: v for k, v in r.items() if k not in strip} for r in js
    ]
    out = io.StringIO()
    scan(
        [str(pcaps_dir / "zeek" / "http-non-printable-characters.pcap")],
        out=out,
        err=io.StringIO(),
        jobs=1,
    )
    # Zeek logs the target percent-decoded (a documented limit).
    assert [unquote(json.loads(line)["uri"]) for line in out.getvalue().splitlines()] == [
        r["uri"] for r in tsv
    ]


def test_an_identity_header_logged_by_name_only_is_a_finding_with_no_value(
    tmp_path: Path,
) -> None:
    path = _tsv(
        tmp_path,
        [
            "1764756000.000000\tCabc\t10.0.0.2\t40000\t192.0.2.80\t80\t1\tGET\texample.com\t/"
            "\t1.1\tcurl/8\t200\tHOST,USER-AGENT,X-MSISDN,X-UP-SUBNO"
        ],
    )
    assert isinstance(open_input(str(path)), RecordFile)  # recognised: #separator
    [record], _ = _scan(path, kind=None)
    assert [(f["name"], f["kind"], f["value"], f["detector"]) for f in record["findings"]] == [
        ("X-MSISDN", "msisdn", "", NAME_ONLY),
        ("X-UP-SUBNO", "subscriber_id", "", NAME_ONLY),
    ]
    assert all("value not logged" in f["detail"] for f in record["findings"])
    # Switched off like any other rule.
    out = io.StringIO()
    scan([str(path)], detector=IdentityDetector(IdentityConfig(disabled=(NAME_ONLY,))), out=out)
    assert json.loads(out.getvalue())["findings"] == []


def test_the_log_all_headers_packages_values_are_read_with_their_escapes(tmp_path: Path) -> None:
    # Zeek writes an empty string inside a vector as the #empty_field mark, "(empty)",
    # and escapes a value that is literally "(empty)" or "-" (\x28, \x2d).
    path = _tsv(
        tmp_path,
        [
            "1764756000.000000\tCabc\t10.0.0.2\t40000\t192.0.2.80\t80\t2\tGET\texample.com\t/"
            "\t1.1\tcurl/8\t-\tHOST,X-MSISDN,X-NOTE,X-IMSI,X-UIDH,X-A,X-B"
            "\texample.com,447700900123,a\\x2cb\\x09c,(empty),-,\\x28empty),\\x2d"
        ],
        values=True,
    )
    [record], _ = _scan(path)
    assert record["headers"] == [
        ["HOST", "example.com"],
        ["X-MSISDN", "447700900123"],
        ["X-NOTE", "a,b\tc"],
        ["X-IMSI", ""],
        ["X-UIDH", ""],
        ["X-A", "(empty)"],
        ["X-B", "-"],
    ]
    assert record["depth"] == 2 and "response" not in record
    # As in a capture, an identity header sent with no value is no finding.
    [finding] = record["findings"]
    assert (finding["kind"], finding["normalized"]) == ("msisdn", "+447700900123")


def test_zeek_json_with_iso_timestamps_and_a_bad_record_passed_over(tmp_path: Path) -> None:
    good = {
        "ts": "2026-12-03T10:00:00.500000Z",
        "uid": "Cxyz",
        "id.orig_h": "10.0.0.2",
        "id.orig_p": 40000,
        "id.resp_h": "192.0.2.80",
        "id.resp_p": 8080,
        "trans_depth": 1,
        "method": "POST",
        "host": "example.com",
        "uri": "/x",
    }
    path = tmp_path / "http.json"
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "id.orig_p": "x"}) + "\n")
    [record], err = _scan(path, kind=None)
    assert (record["method"], record["dport"], record["ts"]) == (
        "POST",
        8080,
        datetime(2026, 12, 3, 10, 0, 0, 500000, tzinfo=UTC).timestamp(),
    )
    assert record["headers"] == [["Host", "example.com"]]
    assert "1 line passed over: not Zeek http.log records (first: line 2: id.orig_p" in err


def test_a_record_whose_response_fields_are_wrong_keeps_its_request_with_a_note(
    tmp_path: Path,
) -> None:
    """What was sent is the evidence: a response field of the wrong type loses the
    response, as a HAR entry's and an eve event's does, not the request."""
    record = {
        "ts": 1764756000.5,
        "uid": "Cxyz",
        "id.orig_h": "10.0.0.2",
        "id.orig_p": 40000,
        "id.resp_h": "192.0.2.80",
        "id.resp_p": 80,
        "trans_depth": 1,
        "method": "GET",
        "host": "example.com",
        "uri": "/x",
        "status_code": 200,
        "server_header_names": "SERVER",
    }
    path = tmp_path / "http.json"
    path.write_text(json.dumps(record) + "\n")
    [read], err = _scan(path, kind=None)
    assert read["uri"] == "/x" and "passed over" not in err
    assert (
        read["anomalies"][-1]
        == "zeek: response not read (server_header_names: not a list of strings)"
    )


def test_a_tsv_column_that_does_not_convert_loses_the_response_or_the_record_as_json_does(
    tmp_path: Path,
) -> None:
    """status_code "OK" in a count column: the request, which carries the number, is
    kept with a note (the whole file was "nothing read" before); a port that is no
    number is what the record cannot do without, and that record is passed over."""
    fields = "1764756000.5 Cx 10.0.0.2 {port} 192.0.2.80 80 1 GET a.example /x 1.1 - OK HOST"
    row = "\t".join(fields.split(" "))
    path = _tsv(tmp_path, [row.format(port=40000), row.format(port="x")])
    [read], err = _scan(path)
    assert read["uri"] == "/x" and read["sport"] == 40000
    assert read["anomalies"][-1] == "zeek: response not read (status_code: not a whole number)"
    assert (
        "1 line passed over: not Zeek http.log records (first: line 9: id.orig_p: not a whole"
        in err
    )


def test_a_tsv_record_before_its_fields_line_is_passed_over_with_why(tmp_path: Path) -> None:
    path = tmp_path / "http.log"
    path.write_text("#separator \\x09\n1\t2\t3\n")
    records, err = _scan(path)
    assert records == [] and "a record before the #fields line" in err


def test_a_finding_with_no_value_says_so_in_the_table_and_is_not_masked_by_redact(
    tmp_path: Path,
) -> None:
    path = _tsv(
        tmp_path,
        [
            "1764756000.000000\tCabc\t10.0.0.2\t40000\t192.0.2.80\t80\t1\tGET\texample.com\t/"
            "\t1.1\tcurl/8\t200\tHOST,X-MSISDN"
        ],
    )
    out = io.StringIO()
    scan([str(path)], fmt="table", detector=IdentityDetector(), out=out, err=io.StringIO())
    assert "msisdn:X-MSISDN=(value not logged)" in out.getvalue()
    out = io.StringIO()
    scan([str(path)], detector=IdentityDetector(), out=out, err=io.StringIO(), redact=True)
    [finding] = json.loads(out.getvalue())["findings"]
    assert finding["value"] == "" and finding["detail"].startswith("present, value not logged")


def test_a_ts_that_is_no_time_says_both_forms_a_zeek_log_writes_it_in() -> None:
    """A masked btest baseline read without its sed: "not an ISO 8601 time" sent the
    user the wrong way, a TSV's ts being epoch seconds."""
    records, err = _scan(ZEEK / "header-names.http.log")
    assert records == []
    assert f"ts: not a time (epoch seconds, or ISO 8601) ({MASKED!r})" in err
