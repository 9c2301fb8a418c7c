"""Record files: headerwatch's own JSONL read back as already-parsed requests."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from capture.identity.detector import IdentityDetector
from capture.scan import scan
from capture.sources.frames import CaptureError
from capture.sources.inputs import open_input
from capture.sources.records import RecordFile
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
        f"headerwatch: warning: {path}: 2 lines were not headerwatch JSONL records and "
        "passed over (first: line 2: not JSON ("
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
