"""The oracle: engine logs of the corpus captures give the requests and findings that
headerwatch finds in the captures themselves, apart from the documented limits.

Neither Suricata nor Zeek runs here, so the logs are made from headerwatch's own
records of each capture by mapping the same fields the engines log (Suricata: ``,``
joined repeated headers; Zeek: upper-cased names), as tests/data/engines/README.md
says. What the engines themselves assert about a corpus capture (suricata-verify's
test.yaml) is checked against the capture path here too.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from capture.identity.detector import IdentityDetector
from capture.scan import scan
from tui.common import demo_capture_path

_KEYS = ("src", "sport", "dst", "dport", "method", "uri", "version")


def _scan(path: str, kind: str | None = None) -> list[dict[str, Any]]:
    out, err = io.StringIO(), io.StringIO()
    scan([path], detector=IdentityDetector(), out=out, err=err, jobs=1, kind=kind)
    assert "passed over" not in err.getvalue(), err.getvalue()
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _corpus(pcaps_dir: Path) -> list[Path]:
    found = sorted(
        p for p in pcaps_dir.rglob("*") if p.name.endswith((".pcap", ".pcapng", ".pcap.gz"))
    )
    return [*found, Path(demo_capture_path())]


def suricata_merge(headers: list[list[str]]) -> list[tuple[str, str]]:
    """Repeated headers as Suricata (libhtp) logs them: one, values joined by ', '."""
    merged: dict[str, tuple[str, str]] = {}
    for name, value in headers:
        key = name.lower()
        if key in merged:
            first, was = merged[key]
            merged[key] = (first, f"{was}, {value}")
        else:
            merged[key] = (name, value)
    return list(merged.values())


def eve_event(record: dict[str, Any]) -> dict[str, Any]:
    """The eve.json http event Suricata would write for ``record`` (dump-all-headers)."""
    http: dict[str, Any] = {
        "request_headers": [{"name": n, "value": v} for n, v in suricata_merge(record["headers"])]
    }
    if record["host"] is not None:
        http["hostname"] = record["host"]
    if record["uri"] is not None:
        http["url"] = record["uri"]
    http["http_method"] = record["method"]
    if record["version"] is not None:
        http["protocol"] = record["version"]
    when = datetime.fromtimestamp(record["ts"], UTC)
    return {
        "timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.%f+0000"),
        "flow_id": record["flow"],
        "event_type": "http",
        "src_ip": record["src"],
        "src_port": record["sport"],
        "dest_ip": record["dst"],
        "dest_port": record["dport"],
        "proto": "TCP",
        "tx_id": record["depth"] - 1,
        "http": http,
    }


def _same_findings(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> bool:
    def key(f: dict[str, Any]) -> tuple[str, str, str, str]:
        return (f["name"].lower(), f["where"], f["kind"], f["normalized"])

    return sorted(map(key, a)) == sorted(map(key, b))


def test_eve_logs_of_every_corpus_capture_agree_with_the_capture(
    pcaps_dir: Path, tmp_path: Path
) -> None:
    captures = _corpus(pcaps_dir)
    compared = merged = findings = 0
    for capture in captures:
        first = _scan(str(capture))
        eve = tmp_path / f"{capture.name}.eve.json"
        eve.write_text("".join(json.dumps(eve_event(r)) + "\n" for r in first))
        again = _scan(str(eve), kind="suricata")
        assert len(again) == len(first), capture.name
        for a, b in zip(first, again, strict=True):
            assert {k: a[k] for k in _KEYS} == {k: b[k] for k in _KEYS}, capture.name
            assert abs(a["ts"] - b["ts"]) < 1e-6
            assert (a["flow"], a["depth"]) == (b["flow"], b["depth"])
            assert [tuple(h) for h in b["headers"]] == suricata_merge(a["headers"])
            if len(suricata_merge(a["headers"])) < len(a["headers"]):
                merged += 1  # the documented limit: findings may differ
                continue
            assert _same_findings(a["findings"], b["findings"]), (capture.name, a["uri"])
            compared += 1
            findings += len(a["findings"])
    assert compared > 500 and findings > 20
    assert merged > 0


def zeek_record(record: dict[str, Any]) -> dict[str, Any]:
    """The JSON http.log record Zeek would write for ``record`` with the
    zeek-log-all-http-headers package (names upper-cased, values beside them)."""
    out: dict[str, Any] = {
        "ts": record["ts"],
        "uid": f"C{record['flow']}",
        "id.orig_h": record["src"],
        "id.orig_p": record["sport"],
        "id.resp_h": record["dst"],
        "id.resp_p": record["dport"],
        "trans_depth": record["depth"],
        "method": record["method"],
        "client_header_names": [n.upper() for n, _ in record["headers"]],
        "client_header_values": [v for _, v in record["headers"]],
    }
    if record["host"] is not None:
        out["host"] = record["host"]
    if record["uri"] is not None:
        out["uri"] = record["uri"]
    if record["version"] is not None and record["version"].startswith("HTTP/"):
        out["version"] = record["version"][5:]
    return out


def test_zeek_logs_of_every_corpus_capture_agree_with_the_capture(
    pcaps_dir: Path, tmp_path: Path
) -> None:
    compared = findings = 0
    for capture in _corpus(pcaps_dir):
        first = _scan(str(capture))
        log = tmp_path / f"{capture.name}.http.json"
        log.write_text("".join(json.dumps(zeek_record(r)) + "\n" for r in first))
        again = _scan(str(log), kind="zeek")
        assert len(again) == len(first), capture.name
        for a, b in zip(first, again, strict=True):
            same = ("src", "sport", "dst", "dport", "method", "uri", "depth")
            assert {k: a[k] for k in same} == {k: b[k] for k in same}, capture.name
            if a["version"] is not None and a["version"].startswith("HTTP/"):
                assert a["version"] == b["version"]
            assert [(n.upper(), v) for n, v in a["headers"]] == [tuple(h) for h in b["headers"]]
            # Names are upper-cased (the documented limit): compared without case.
            assert _same_findings(a["findings"], b["findings"]), (capture.name, a["uri"])
            compared += 1
            findings += len(a["findings"])
    assert compared > 500 and findings > 20


def test_what_suricata_verify_asserts_of_http_all_headers_holds_for_the_capture(
    pcaps_dir: Path,
) -> None:
    # tests/http-all-headers/test.yaml (suricata-verify): one http event, 9 request
    # headers, the first Host: www.ethereal.com; 9 response headers, [5] Content-Length.
    out, err = io.StringIO(), io.StringIO()
    scan(
        [str(pcaps_dir / "suricata-verify" / "http-all-headers" / "input.pcap")],
        fmt="har",
        out=out,
        err=err,
    )
    [entry] = json.loads(out.getvalue())["log"]["entries"]
    request_headers = entry["request"]["headers"]
    assert len(request_headers) == 9
    assert request_headers[0] == {"name": "Host", "value": "www.ethereal.com"}
    response_headers = entry["response"]["headers"]
    assert len(response_headers) == 9
    assert response_headers[5] == {"name": "Content-Length", "value": "18070"}
