"""Record files: headerwatch's own JSONL read back as already-parsed requests."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest

from capture.formats.har import har_entry
from capture.formats.jsonl import dumps
from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.model import IDENTITY_KINDS, RequestSeen
from capture.pipeline import Pipeline
from capture.scan import scan
from capture.sources.frames import CaptureError, CaptureFile
from capture.sources.inputs import open_input
from capture.sources.records import RecordFile
from tests.conftest import REPO
from tui.common import demo_capture_path


def _corpus(pcaps_dir: Path) -> list[Path]:
    return sorted(
        p for p in pcaps_dir.rglob("*") if p.name.endswith((".pcap", ".pcapng", ".pcap.gz"))
    )


def _scan(path: str, fmt: str = "jsonl") -> list[dict[str, object]]:
    out, err = io.StringIO(), io.StringIO()
    scan([path], fmt=fmt, detector=IdentityDetector(), out=out, err=err, jobs=1)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _comparable(record: dict[str, object]) -> dict[str, object]:
    return {
        k: record.get(k)
        for k in (
            "ts",
            "src",
            "sport",
            "dst",
            "dport",
            "method",
            "uri",
            "version",
            "headers",
            "findings",
            "flow",
            "depth",
        )
    }


def test_scanning_the_jsonl_of_every_corpus_capture_gives_the_same_records_and_findings(
    pcaps_dir: Path, tmp_path: Path
) -> None:
    captures = [*_corpus(pcaps_dir), Path(demo_capture_path())]
    assert len(captures) > 80
    findings = 0
    for capture in captures:
        first = _scan(str(capture))
        jsonl = tmp_path / f"{capture.name}.jsonl"
        jsonl.write_text("".join(json.dumps(r) + "\n" for r in first), encoding="utf-8")
        again = _scan(str(jsonl))
        assert [_comparable(r) for r in again] == [_comparable(r) for r in first], capture.name
        findings += sum(len(r["findings"]) for r in first)  # type: ignore[arg-type]
    assert findings > 20  # the demo's O2 number, UIDH and IMEI among them


def test_the_jsonl_of_a_reflected_capture_keeps_its_transit_and_injected_identities(
    tmp_path: Path,
) -> None:
    from tests.capture.test_echo_paths import _lab_capture

    first = _scan(_lab_capture(tmp_path))
    jsonl = tmp_path / "echoed.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in first), encoding="utf-8")
    again = _scan(str(jsonl))
    keys = ("uri", "findings", "injected", "removed", "changed")
    assert [{k: r.get(k) for k in keys} for r in again] == [
        {k: r.get(k) for k in keys} for r in first
    ]
    assert any(r.get("injected") for r in again)
    assert any(f["kind"] == "msisdn" for r in again for f in r["findings"])


_EVIDENCE = {
    "jsonl": ("findings", "injected", "removed", "changed"),
    "har": ("_identityFindings", "_injected", "_removed", "_changed"),
}


def _evidence(objects: list[dict[str, Any]], fmt: str) -> list[dict[str, Any]]:
    """The findings and sent versus received of each record of a file's objects."""
    return [{k: obj.get(k) for k in _EVIDENCE[fmt]} for obj in objects]


def _file_objects(path: Path, fmt: str) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    if fmt == "jsonl":
        return [json.loads(line) for line in text.splitlines()]
    entries: list[dict[str, Any]] = json.loads(text)["log"]["entries"]
    return entries


def _read_back(path: Path, fmt: str, responses: bool) -> tuple[list[dict[str, Any]], int]:
    """The records of a record file as ``scan`` and ``report`` read it (requests only)
    or as ``open`` does (responses too), as ``fmt`` writes them, and the identities
    the pipeline counted."""
    pipeline = Pipeline(IdentityDetector(IdentityConfig(region="GB")), responses=responses)
    source = open_input(str(path))
    assert not isinstance(source, CaptureFile)
    events = [e for p in source.requests(responses) for e in pipeline.feed_request(p)]
    records = [e.record for e in [*events, *pipeline.flush()] if isinstance(e, RequestSeen)]
    objects = [json.loads(dumps(r)) if fmt == "jsonl" else har_entry(r) for r in records]
    return objects, pipeline.counters()["identities"]


@pytest.mark.parametrize("fmt", ["jsonl", "har"])
@pytest.mark.parametrize("capture", ["demo", "reflected"])
def test_a_redacted_scan_reads_back_with_exactly_the_findings_it_was_written_with(
    tmp_path: Path, capture: str, fmt: str
) -> None:
    """A mask cannot be found again (the detector read one as an opaque subscriber ID,
    and lost the IMEI of a query): each finding comes back as written, the transit's
    too, whether read as scan and report read it or as open does."""
    from tests.capture.test_echo_paths import _lab_capture

    path = demo_capture_path() if capture == "demo" else _lab_capture(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    detector = IdentityDetector(IdentityConfig(region="GB"))
    assert scan([path], fmt=fmt, detector=detector, out=out, err=err, redact=True) == 0
    red = tmp_path / f"red.{fmt}"
    red.write_text(out.getvalue(), encoding="utf-8")
    written = _evidence(_file_objects(red, fmt), fmt)
    findings = [f for r in written for f in r[_EVIDENCE[fmt][0]]]
    assert any(f["kind"] == "msisdn" and f["value"].startswith("<msisdn") for f in findings)
    identities = sum(f["kind"] in IDENTITY_KINDS for f in findings)
    assert f"; {identities} identit" in err.getvalue()  # as the scan that wrote it counted
    if capture == "reflected":
        assert any(r[_EVIDENCE[fmt][1]] for r in written)  # the injected number
    for responses in (False, True):
        objects, counted = _read_back(red, fmt, responses)
        assert _evidence(objects, fmt) == written
        assert counted == identities


def test_a_redacted_record_read_back_gets_what_the_run_s_canaries_find_beyond_its_findings(
    tmp_path: Path,
) -> None:
    """Canaries (and recurrence) are the run's own: looked for in what the redaction
    left, and added after the findings as written. One given to the scan that wrote
    the file too was masked with the rest, and is not counted twice."""
    profile = "100000000000001"  # the Facebook profile id in the demo's URL

    def records(canaries: tuple[str, ...], redact: bool, path: str) -> list[dict[str, Any]]:
        out = io.StringIO()
        config = IdentityConfig(region="GB", canaries=canaries)
        scan([path], detector=IdentityDetector(config), out=out, err=io.StringIO(),
             redact=redact)  # fmt: skip
        return [json.loads(line) for line in out.getvalue().splitlines()]

    red = tmp_path / "red.jsonl"
    written = records((), True, demo_capture_path())
    red.write_text("".join(json.dumps(r) + "\n" for r in written), encoding="utf-8")
    again = records((profile,), False, str(red))
    added = [
        (r["findings"][: len(w["findings"])] == w["findings"], r["findings"][len(w["findings"]) :])
        for r, w in zip(again, written, strict=True)
    ]
    assert all(same for same, _ in added)
    more = [f for _, extra in added for f in extra]
    assert more and all(f["detector"] == "canary" and f["value"] == profile for f in more)
    masked = [any(f["value"].startswith("<msisdn") for f in w["findings"]) for w in written]
    assert any(extra and was for (_, extra), was in zip(added, masked, strict=True))

    written = records((profile,), True, demo_capture_path())
    red.write_text("".join(json.dumps(r) + "\n" for r in written), encoding="utf-8")
    again = records((profile,), False, str(red))
    assert [r["findings"] for r in again] == [r["findings"] for r in written]


def test_stdin_carries_records_as_well_as_captures(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = "".join(json.dumps(r) + "\n" for r in _scan(demo_capture_path()))
    stdin = io.TextIOWrapper(io.BufferedReader(io.BytesIO(lines.encode())))  # type: ignore[arg-type]
    monkeypatch.setattr("sys.stdin", stdin)
    assert isinstance(open_input("-"), RecordFile)
    out, err = io.StringIO(), io.StringIO()
    assert scan(["-"], detector=IdentityDetector(), out=out, err=err, fail_on_identity=True) == 1
    assert "28 parsed requests read; 28 HTTP requests" in err.getvalue()


def test_bad_lines_are_passed_over_counted_and_named_once(tmp_path: Path) -> None:
    good = _scan(demo_capture_path())[:2]
    path = tmp_path / "mixed.jsonl"
    path.write_text(
        json.dumps(good[0])
        + "\nnot json at all\n"
        + '{"ts": "yesterday"}\n\n'
        + json.dumps(good[1])
        + "\n",
        encoding="utf-8",
    )
    out, err = io.StringIO(), io.StringIO()
    assert scan([str(path)], out=out, err=err) == 0
    assert len(out.getvalue().splitlines()) == 2
    warning = [line for line in err.getvalue().splitlines() if "warning" in line]
    assert len(warning) == 1
    assert warning[0].startswith(
        f"headerwatch: warning: {path}: 2 lines passed over: not headerwatch JSONL records "
        "(first: line 2: not JSON ("
    )


def test_a_file_that_is_neither_capture_nor_records_is_one_line_naming_what_is_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("# headers I saw\n\x1b[31m", encoding="utf-8")
    with pytest.raises(CaptureError) as caught:
        open_input(str(path))
    message = str(caught.value)
    assert message.startswith(f'{path}: not a file headerwatch reads (starts with "# headers I saw')
    assert "pcap or pcapng capture" in message and "headerwatch JSONL records" in message
    assert "\x1b" not in message and "b'" not in message


def test_a_line_without_a_newline_longer_than_the_bound_is_passed_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("capture.sources.records.MAX_LINE", 4096)
    good = json.dumps(_scan(demo_capture_path())[0])
    assert len(good) < 4096
    path = tmp_path / "long.jsonl"
    path.write_text('{"pad": "' + "x" * 20_000 + '"}\n' + good + "\n", encoding="utf-8")
    source = open_input(str(path))
    assert isinstance(source, RecordFile)
    assert len(list(source.requests())) == 1
    assert source.bad_lines == 1 and "longer than 4,096 bytes" in (source.problem() or "")


ENGINES = REPO / "tests" / "data" / "engines"


def _scanned(path: Path, kind: str | None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = scan([str(path)], detector=IdentityDetector(), out=out, err=err, jobs=1, kind=kind)
    return code, out.getvalue(), err.getvalue()


def test_every_kind_of_input_reads_through_gzip_as_it_reads_without(
    pcaps_dir: Path, tmp_path: Path
) -> None:
    """Recognised from what it holds, or named: the same records, the same messages."""
    zeek = ENGINES / "zeek"
    unmasked = {
        name: (zeek / name).read_text().split("\n", 1)[1].replace("XXXXXXXXXX.XXXXXX", "1.5")
        for name in (
            "json-non-printable-escaping.http.log.tsv",
            "json-non-printable-escaping.http.log.json",
        )
    }
    demo_jsonl = "".join(json.dumps(r) + "\n" for r in _scan(demo_capture_path()))
    inputs = (
        ("wikipedia.pcap", "capture", (pcaps_dir / "zeek/wikipedia.pcap").read_bytes()),
        ("dvwa.pcapng", "capture", (pcaps_dir / "zeek/cooper-grill-dvwa.pcapng").read_bytes()),
        ("firefox.har", "har", (REPO / "tests/data/har/firefox47.har").read_bytes()),
        (
            "eve.json",
            "suricata",
            (ENGINES / "suricata/docs-dump-all-headers.eve.json").read_bytes(),
        ),
        ("http.log", "zeek", unmasked["json-non-printable-escaping.http.log.tsv"].encode()),
        ("http.json", "zeek", unmasked["json-non-printable-escaping.http.log.json"].encode()),
        ("demo.jsonl", "jsonl", demo_jsonl.encode()),
    )
    for name, kind, data in inputs:
        plain, packed = tmp_path / name, tmp_path / f"{name}.gz"
        plain.write_bytes(data)
        packed.write_bytes(gzip.compress(data))
        for named in (None, kind):
            code, out, err = _scanned(plain, named)
            assert code == 0 and out, (name, err)
            assert _scanned(packed, named) == (code, out, err.replace(str(plain), str(packed)))


@pytest.mark.parametrize(
    "source",
    [
        "suricata/docs-dump-all-headers.eve.json",
        "zeek/json-non-printable-escaping.http.log.tsv",
        "zeek/json-non-printable-escaping.http.log.json",
        "demo",
    ],
)
def test_a_log_that_starts_with_a_byte_order_mark_loses_no_line(
    tmp_path: Path, source: str
) -> None:
    # Windows tools save UTF-8 with a BOM: its first event was "not JSON".
    if source == "demo":
        data = "".join(json.dumps(r) + "\n" for r in _scan(demo_capture_path())).encode()
    else:
        text = (ENGINES / source).read_text()
        if source.startswith("zeek/"):
            text = text.split("\n", 1)[1].replace("XXXXXXXXXX.XXXXXX", "1.5")
        data = text.encode()
    plain, marked = tmp_path / "plain.log", tmp_path / "marked.log"
    plain.write_bytes(data)
    marked.write_bytes(b"\xef\xbb\xbf" + data)
    code, out, err = _scanned(plain, None)
    assert code == 0 and out
    assert _scanned(marked, None) == (code, out, err.replace(str(plain), str(marked)))


def test_a_gzip_log_is_read_in_one_process_with_progress_in_compressed_bytes(
    tmp_path: Path,
) -> None:
    """A range of a gzip stream cannot be read without what comes before it: a split
    scan falls back to one process; the dashboard's progress counts the file's bytes."""
    from capture.scan_jobs import jobs_for_records
    from capture.sources.source import FileSource

    path = tmp_path / "demo.jsonl.gz"
    path.write_bytes(
        gzip.compress("".join(json.dumps(r) + "\n" for r in _scan(demo_capture_path())).encode())
    )
    source = open_input(str(path))
    assert isinstance(source, RecordFile) and source.size == path.stat().st_size
    assert not source.splittable and jobs_for_records([source], "jsonl", 4) == 1
    source.close()
    assert _scanned(path, None)[1] == _scanned(path, "jsonl")[1]
    files = FileSource([str(path)])
    assert len([item for item in files.frames() if item is not None]) == 28
    assert files.read_bytes == files.total_bytes == path.stat().st_size


def test_a_gzip_log_cut_short_keeps_the_records_before_the_cut_and_says_so(
    tmp_path: Path,
) -> None:
    lines = "".join(json.dumps(r) + "\n" for r in _scan(demo_capture_path()) * 40).encode()
    packed = gzip.compress(lines)
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(packed[: len(packed) // 2])
    code, out, err = _scanned(path, None)
    assert code == 0 and 0 < len(out.splitlines()) < 28 * 40
    assert f"headerwatch: warning: {path}: cut short (Compressed file ended before the " in err
    assert "every record before the cut is reported" in err


@pytest.mark.parametrize("jobs", [1, 3])
def test_a_last_line_cut_inside_a_record_is_said_cut_short_not_a_bad_line(
    tmp_path: Path, jobs: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from capture import scan_jobs

    monkeypatch.setattr(scan_jobs, "RECORD_CHUNK", 997)  # a split scan: shares of files
    records = [json.dumps(r) + "\n" for r in _scan(demo_capture_path()) * 4]
    whole = "".join(records)
    path = tmp_path / "cut.jsonl"
    path.write_text(whole[: len(whole) - len(records[-1]) // 2])  # the last one cut halfway
    out, err = io.StringIO(), io.StringIO()
    code = scan([str(path)], detector=IdentityDetector(), out=out, err=err, jobs=jobs)
    assert code == 0, err.getvalue()
    assert len(out.getvalue().splitlines()) == len(records) - 1  # every one before it
    warnings = [line for line in err.getvalue().splitlines() if "warning" in line]
    # Before: "1 line passed over: not headerwatch JSONL records (... unexpected end of data)".
    assert warnings == [
        f"headerwatch: warning: {path}: cut short (its last line ends inside a record: "
        "unexpected end of data); every record before the cut is reported"
    ]


def test_a_last_line_that_is_no_record_is_still_a_bad_line(tmp_path: Path) -> None:
    record = json.dumps(_scan(demo_capture_path())[0])
    path = tmp_path / "tail.jsonl"
    path.write_text(record + "\n" + '{"ts": "yesterday"}')  # whole JSON, without its newline
    code, _, err = _scanned(path, None)
    assert code == 0 and "1 line passed over: not headerwatch JSONL records" in err
    path.write_text(record + "\n" + "{not json at all")  # not a record begun, then cut
    assert "1 line passed over" in _scanned(path, None)[2]


def test_a_har_of_which_no_entry_can_be_read_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.har"
    path.write_text(json.dumps({"log": {"entries": [{"request": 1}, {"request": 2}]}}))
    code, out, err = _scanned(path, None)
    assert code == 2 and not out
    assert err.startswith(
        f"headerwatch: error: {path}: nothing read: none of its 2 HAR entries could be read "
        "(first: entry 1: "
    )
    assert len(err.splitlines()) == 1
    empty = tmp_path / "empty.har"
    empty.write_text(json.dumps({"log": {"entries": []}}))
    assert _scanned(empty, None)[0] == 0  # nothing in it, but nothing wrong with it


def test_the_dashboard_is_told_of_an_input_with_nothing_of_its_kind_as_an_error(
    tmp_path: Path,
) -> None:
    from capture.sources.source import FileSource

    path = tmp_path / "foo.json"
    path.write_text('{"foo":1}\n')
    notices: list[tuple[str, str]] = []
    files = FileSource([str(path)], notify=lambda level, text: notices.append((level, text)))
    assert [item for item in files.frames() if item is not None] == []
    assert notices == [
        (
            "error",
            f"{path}: nothing read: not headerwatch JSONL records (line 1: ts: missing)",
        )
    ]


def test_headerwatch_s_own_status_lines_are_read_without_a_warning(tmp_path: Path) -> None:
    # A record session's first line and the mitmproxy add-on's drop count are not
    # "other records": scanning them warned "1 line skipped: other records".
    records = "".join(json.dumps(r) + "\n" for r in _scan(demo_capture_path()))
    path = tmp_path / "session.jsonl"
    path.write_text(
        '{"headerwatch_session": {"format": 1}}\n'
        + records
        + '{"headerwatch_addon": {"dropped": 0}}\n'
    )
    code, out, err = _scanned(path, None)
    assert code == 0 and len(out.splitlines()) == 28
    assert "warning" not in err, err


@pytest.mark.parametrize("kind", [None, "suricata", "zeek", "jsonl", "har", "capture"])
def test_a_directory_given_as_any_input_is_said_to_be_a_directory_and_no_more(
    tmp_path: Path, kind: str | None
) -> None:
    # Not "not a capture file" (as it said): an engine log or records are read as often.
    with pytest.raises(CaptureError) as raised:
        open_input(str(tmp_path), kind)
    assert str(raised.value) == f"{tmp_path}: is a directory, not a file"


def _tiny_entries_har(count: int) -> bytes:
    entry = (
        '{"startedDateTime":"2026-12-03T10:00:00Z","request":{"method":"GET",'
        '"url":"http://a.example/%d","headers":[]},"response":{"status":200,"headers":[]}}'
    )
    entries = ",".join(entry % n for n in range(count))
    head = '{"log":{"version":"1.2","creator":{"name":"t","version":"1"},"entries":['
    return (head + entries + "]}}").encode()


def test_a_har_too_large_for_the_memory_left_is_one_line_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read anyway under ulimit -v, orjson died of the failed allocation: a
    segfault, no word said (a 262 MB HAR of small entries takes 4.5 GB of address
    space)."""
    import resource

    from capture.sources import records

    data = _tiny_entries_har(120_000)
    assert len(data) >= records.HAR_CHECKED
    path = tmp_path / "many.har"
    path.write_bytes(data)
    assert records.har_room(data) is None  # this machine has the room
    # As under `ulimit -v` with 100 MB left beside what the process holds.
    with open("/proc/self/statm", "rb") as statm:
        held = int(statm.read().split()[0]) * __import__("os").sysconf("SC_PAGE_SIZE")
    monkeypatch.setattr(resource, "getrlimit", lambda _: (held + 100_000_000, -1))
    with pytest.raises(CaptureError) as caught:
        open_input(str(path))
    said = str(caught.value)
    assert said.startswith(f"{path}: HAR of {len(data):,} bytes too large for the memory available")
    assert "bytes of address space; ulimit -v leaves" in said


def test_a_record_file_cut_inside_a_character_is_cut_short_not_a_bad_line(
    tmp_path: Path,
) -> None:
    """orjson said only "str is not valid UTF-8": the cut read as a line passed over."""
    line = (
        '{"ts":1.0,"src":"10.0.0.2","sport":1,"dst":"192.0.2.1","dport":80,"method":"GET",'
        '"uri":"/caf\u00e9","version":"HTTP/1.1","headers":[["Host","a"]]}\n'
    ).encode()
    path = tmp_path / "cut.jsonl"
    path.write_bytes(line + line[: line.index(b"\xa9")])  # cut between é's two bytes
    out, err = io.StringIO(), io.StringIO()
    assert scan([str(path)], detector=IdentityDetector(), out=out, err=err) == 0
    assert len(out.getvalue().splitlines()) == 1
    assert (
        f"{path}: cut short (its last line ends inside a record: inside a character); "
        "every record before the cut is reported"
    ) in err.getvalue()
    assert "passed over" not in err.getvalue()
