"""Every real capture in tests/data/pcaps against its oracle (Zeek, Suricata, tshark).

The oracle lists the requests of each capture. Per connection (src, sport, dst,
dport) we must report the same requests in the same order, with the same
method, target, version, Host, header list and first-packet timestamp, for
every field an oracle asserted. Where the oracles disagree with each other we
decided; each decision has its own test below, with the reason.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from capture.formats.jsonl import record_to_dict
from tests.helpers import run_file

# (capture, connection index in capture order, request index, field) -> our value,
# where we deliberately differ from the canonical oracle value. Each entry has a
# decision test below.
DECISIONS: dict[tuple[str, str, int, str], Any] = {
    ("zeek/variant-09-te_obs_fold.pcap", "192.168.1.100:40009", 0, "headers"): [
        ["Host", "target"],
        ["Transfer-Encoding", "chunked"],
    ],
}

FIELDS = ("method", "uri", "version", "host")


def _captures(root: Path) -> list[tuple[Path, Path]]:
    pairs = []
    for expected in sorted(root.rglob("*.expected.jsonl")):
        stem = expected.name[: -len(".expected.jsonl")]
        matches = [p for p in expected.parent.iterdir() if p.name.startswith(stem + ".pcap")]
        assert len(matches) == 1, expected
        pairs.append((matches[0], expected))
    return pairs


def _conn(r: dict[str, Any]) -> tuple[str, int, str, int]:
    return (r["src"], r["sport"], r["dst"], r["dport"])


def compare(capture: Path, expected: Path, root: Path) -> list[str]:
    """Differences between our records and the oracle's for one capture."""
    rel = str(capture.relative_to(root))
    want = [json.loads(line) for line in expected.read_text().splitlines() if line.strip()]
    got = [record_to_dict(r) for r in run_file(str(capture))]
    by_conn_want: dict[tuple[str, int, str, int], list[dict[str, Any]]] = defaultdict(list)
    by_conn_got: dict[tuple[str, int, str, int], list[dict[str, Any]]] = defaultdict(list)
    for r in want:
        by_conn_want[_conn(r)].append(r)
    for r in got:
        by_conn_got[_conn(r)].append(r)
    problems = []
    for conn in sorted(set(by_conn_want) | set(by_conn_got), key=str):
        w, g = by_conn_want.get(conn, []), by_conn_got.get(conn, [])
        if len(w) != len(g):
            problems.append(
                f"{conn}: oracle has {len(w)} requests "
                f"{[(x['method'], x['uri']) for x in w][:4]}, we have {len(g)} "
                f"{[(x['method'], x['uri']) for x in g][:4]}"
            )
            continue
        for i, (a, b) in enumerate(zip(w, g, strict=True)):
            unasserted = set(a["oracle"].get("unasserted") or [])
            key_prefix = (rel, f"{conn[0]}:{conn[1]}", i)
            for field in (*FIELDS, "headers", "ts"):
                if field in unasserted:
                    continue
                want_value = a[field]
                if field == "headers" and want_value is None:
                    continue  # no oracle parsed the header block
                if field == "host" and want_value is None and "zeek" not in a["oracle"]:
                    continue
                if (*key_prefix, field) in DECISIONS:
                    want_value = DECISIONS[(*key_prefix, field)]
                have = b[field]
                if field == "ts":
                    if want_value is not None and abs(want_value - have) > 1e-6:
                        problems.append(f"{conn} #{i} ts: oracle {want_value}, we {have}")
                elif want_value != have:
                    problems.append(f"{conn} #{i} {field}: oracle {want_value!r}, we {have!r}")
    return problems


def test_every_capture_agrees_with_its_oracle(
    pcaps_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Walk the whole corpus; print the agreement; fail on any difference."""
    pairs = _captures(pcaps_dir)
    assert len(pairs) >= 88
    failures: dict[str, list[str]] = {}
    requests = 0
    for capture, expected in pairs:
        requests += sum(1 for line in expected.read_text().splitlines() if line.strip())
        problems = compare(capture, expected, pcaps_dir)
        if problems:
            failures[str(capture.relative_to(pcaps_dir))] = problems
    agree = len(pairs) - len(failures)
    with capsys.disabled():
        print(f"\noracle agreement: {agree}/{len(pairs)} captures, {requests} oracle requests")
        for name, problems in failures.items():
            print(f"  {name}:")
            for p in problems[:5]:
                print(f"    {p}")
    assert not failures


def test_skipping_responses_gives_the_same_requests(pcaps_dir: Path) -> None:
    """``scan`` does not parse server bytes; every capture must give the same requests."""
    from capture.pipeline import Pipeline

    for capture, _ in _captures(pcaps_dir):
        full = [record_to_dict(r) for r in run_file(str(capture))]
        for record in full:
            record.pop("response", None)
        lean = [record_to_dict(r) for r in run_file(str(capture), Pipeline(responses=False))]
        assert lean == full, capture


def _records(pcaps_dir: Path, name: str) -> list[dict[str, Any]]:
    return [record_to_dict(r) for r in run_file(str(pcaps_dir / name))]


def test_decision_obs_fold_is_unfolded_not_dropped(pcaps_dir: Path) -> None:
    """tshark drops a folded header line; Zeek unfolds it. We unfold.

    RFC 9112 §5.2 tells a recipient to replace obs-fold with SP before
    interpreting the message, and Zeek (and many servers) then see
    ``Transfer-Encoding: chunked``, which reveals the smuggled second request.
    A monitor that hides it (tshark) would miss what the server may act on.
    """
    first, second = _records(pcaps_dir, "zeek/variant-09-te_obs_fold.pcap")
    assert first["headers"] == [["Host", "target"], ["Transfer-Encoding", "chunked"]]
    assert "obs-fold (folded header line)" in first["anomalies"]
    assert second["uri"] == "/smuggled-obsfold"


def test_decision_spaces_inside_the_target(pcaps_dir: Path) -> None:
    """``GET /uri afterspace HTTP/1.1``: the target runs to the last space (Suricata), not
    the first (tshark, which then reports version ``afterspace HTTP/1.1``)."""
    [rec] = _records(pcaps_dir, "suricata-verify/http-uri-spaces/input.pcap")
    assert (rec["uri"], rec["version"]) == ("/uri afterspace", "HTTP/1.1")


def test_decision_request_line_without_target(pcaps_dir: Path) -> None:
    """``GET HTTP/1.1``: an empty target and version HTTP/1.1 (Zeek); tshark takes
    ``HTTP/1.1`` for the target."""
    [rec] = _records(pcaps_dir, "zeek/no-uri.pcap")
    assert (rec["uri"], rec["version"]) == ("", "HTTP/1.1")
    assert "request line without target" not in rec.get("anomalies", [])


def test_decision_connect_target_with_space(pcaps_dir: Path) -> None:
    """``CONNECT host:25 / HTTP/1.0``: the target keeps the stray ``/`` (Zeek)."""
    [rec] = _records(pcaps_dir, "zeek/connect-with-smtp.pcap")
    assert (rec["method"], rec["uri"], rec["version"]) == (
        "CONNECT",
        "mailin03.sul.t-online.de:25 /",
        "HTTP/1.0",
    )


def test_decision_versionless_request_line_with_headers(pcaps_dir: Path) -> None:
    """``GET /`` then LF-only header lines: Suricata reports a request, tshark does not.
    A request line without version followed by headers is a request (servers answer
    it), so we report it, its headers parsed, flagged as having no version."""
    [rec] = _records(pcaps_dir, "suricata-verify/http-not09/input.pcap")
    assert rec["version"] is None
    assert dict((n.lower(), v) for n, v in rec["headers"])["user-agent"] == "myscript"
    assert "no HTTP version (HTTP/0.9-style request line)" in rec["anomalies"]


def test_decision_bare_method_line(pcaps_dir: Path) -> None:
    """``OPTIONS`` alone on a line: tshark reports it, Zeek gives up. A known method
    alone is a (broken) request a server may answer: we report it without target."""
    recs = [r for r in _records(pcaps_dir, "zeek/methods.pcap") if r["sport"] == 46565]
    assert [(r["method"], r["uri"], r["version"]) for r in recs] == [("OPTIONS", None, None)]


def test_decision_unknown_method_is_still_a_request(pcaps_dir: Path) -> None:
    """``QUERY`` (a draft method) on port 4711: Zeek reports it, tshark does not.
    Any token method with an HTTP version is a request, on any port."""
    [rec] = _records(pcaps_dir, "zeek/query-method-non-standard-port.pcap")
    assert (rec["method"], rec["uri"], rec["dport"]) == ("QUERY", "/users", 4711)


def test_decision_mime_headers_in_a_body_are_not_request_headers(pcaps_dir: Path) -> None:
    """Zeek's events include MIME headers found inside a message/rfc822 body; they are
    body bytes, not headers any server or proxy acts on (tshark agrees)."""
    first, _ = _records(pcaps_dir, "zeek/content-length-in-request-body.pcap")
    assert [n for n, _ in first["headers"]] == ["Host", "Content-Type", "Content-Length"]


def test_decision_truncated_header_block_is_reported(pcaps_dir: Path) -> None:
    """A request whose header block never ends (capture cut): Suricata matches its
    request line, tshark reports nothing. The bytes are real, so we report the request
    with an anomaly saying the head is incomplete."""
    [rec] = _records(pcaps_dir, "suricata-verify/http-request-line/input.pcap")
    assert (rec["method"], rec["uri"], rec["version"]) == ("GET", "/index.html", "HTTP/1.0")
    assert any("header block" in a for a in rec["anomalies"])


def test_decision_conflicting_content_lengths_use_the_last(pcaps_dir: Path) -> None:
    """Two different Content-Length headers: RFC 9112 says reject; Wireshark and
    Suricata both frame the body with the last one. So do we, and flag it."""
    first, second = _records(pcaps_dir, "suricata-verify/http-multiple-cl/input.pcap")
    assert second["uri"] == "/bad.php"
    assert any("conflicting Content-Length" in a for a in first["anomalies"])
