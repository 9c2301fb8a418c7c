"""Reopening a session reads its national numbers in the region it records (``scan``,
``report``, ``live --from``, ``open``), unless --region or the config chooses one."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import orjson
import pytest

from capture.formats.record_session import info_line
from capture.formats.session import SessionInfo, save_session
from tui.cli import main
from tui.common import demo_capture_path

NATIONAL = orjson.dumps(
    {
        "ts": 1700000000.0,
        "src": "10.0.0.2",
        "sport": 40000,
        "dst": "192.0.2.1",
        "dport": 80,
        "method": "POST",
        "uri": "/signup?phone=07700900123",
        "version": "HTTP/1.1",
        "headers": [["Host", "ads.example"]],
        "source": "mitmproxy",
    }
)
"""What ``-d phone=07700900123`` through mitmproxy was recorded as."""


@pytest.fixture(autouse=True)
def no_region_in_the_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_TELEPHONE", raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


def _session(path: Path, region: str) -> str:
    path.write_bytes(info_line(SessionInfo.new(source="proxy", region=region)) + NATIONAL + b"\n")
    return str(path)


def _msisdns(stdout: str) -> list[str]:
    return [
        f["normalized"]
        for line in stdout.splitlines()
        for f in orjson.loads(line)["findings"]
        if f["kind"] == "msisdn"
    ]


def test_a_scanned_session_reads_national_numbers_in_the_region_it_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session = _session(tmp_path / "sess2.jsonl", "GB")
    assert main(["scan", session]) == 0
    out, err = capsys.readouterr()
    assert _msisdns(out) == ["+447700900123"]
    assert f"headerwatch: note: region GB, from the session's metadata ({session}); " in err
    assert "no region in the locale" not in err


def test_an_explicit_region_wins_over_the_session_and_says_which_it_passed_over(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session = _session(tmp_path / "sess2.jsonl", "GB")
    assert main(["scan", "--region", "FR", session]) == 0
    out, err = capsys.readouterr()
    assert _msisdns(out) == []
    assert err.splitlines()[-1] == (
        "headerwatch: note: region FR from --region, not the one recorded in the "
        f"session's metadata ({session}: GB)"
    )
    assert main(["scan", "--region", "gb", session]) == 0  # the same: nothing to say
    assert "note" not in capsys.readouterr().err


def test_a_region_in_the_config_wins_over_the_session(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[identity]\nregion = "FR"\n')
    session = _session(tmp_path / "sess2.jsonl", "GB")
    assert main(["scan", "--config", str(config), session]) == 0
    out, err = capsys.readouterr()
    assert _msisdns(out) == []
    assert "region FR from [identity] region, not the one recorded" in err


def test_sessions_that_disagree_are_read_in_the_first_ones_region_and_it_is_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _session(tmp_path / "gb.jsonl", "GB")
    second = _session(tmp_path / "fr.jsonl", "FR")
    assert main(["scan", first, second]) == 0
    out, err = capsys.readouterr()
    assert _msisdns(out) == ["+447700900123", "+447700900123"]
    [note] = [line for line in err.splitlines() if "note" in line]
    assert note == (
        "headerwatch: note: the sessions record different regions "
        f"({first}: GB, {second}: FR): every input's national numbers read in GB, the "
        "first's; --region chooses another"
    )


def test_a_session_whose_region_is_not_a_region_code_says_so_once_and_is_not_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _session(tmp_path / "zz.jsonl", "ZZ")
    assert main(["scan", bad]) == 0
    out, err = capsys.readouterr()
    assert _msisdns(out) == []
    [warning] = [line for line in err.splitlines() if "warning" in line]
    assert warning == (
        "headerwatch: warning: the region recorded in the session's metadata is not a "
        f"region code such as GB or US, not used ({bad}: 'ZZ')"
    )
    assert "no region in the locale" in err
    # Beside a session that records one, that one is read in, and it is said too.
    good = _session(tmp_path / "gb.jsonl", "GB")
    assert main(["scan", bad, good]) == 0
    out, err = capsys.readouterr()
    assert _msisdns(out) == ["+447700900123", "+447700900123"]
    assert (
        f"not used ({bad}: 'ZZ')" in err
        and f"region GB, from the session's metadata ({good})" in err
    )
    # A region of its own chosen: the session's is not looked for, nothing to say.
    assert main(["scan", "--region", "GB", bad]) == 0
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("region", "shown"), [(44, "'44'"), (None, "'null'"), (["GB"], "'[\"GB\"]'")]
)
def test_a_session_whose_region_is_not_a_string_says_so_once_and_the_locale_or_option_is_used(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    region: object,
    shown: str,
) -> None:
    # Passed over in silence: a value that is not a string was read as no region at all.
    header = json.loads(info_line(SessionInfo.new(source="proxy", region="GB")))
    header["headerwatch_session"]["region"] = region
    bad = tmp_path / "edited.jsonl"
    bad.write_bytes(orjson.dumps(header) + b"\n" + NATIONAL + b"\n")
    monkeypatch.setenv("LANG", "en_GB.UTF-8")
    assert main(["scan", str(bad)]) == 0
    out, err = capsys.readouterr()
    assert _msisdns(out) == ["+447700900123"]  # in the locale's region
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert warnings == [
        "headerwatch: warning: the region recorded in the session's metadata is not a "
        f"region code such as GB or US, not used ({bad}: {shown})"
    ]
    assert main(["scan", "--region", "FR", str(bad)]) == 0
    out, err = capsys.readouterr()
    assert _msisdns(out) == []  # read in FR: the national number is not one there
    assert "warning" not in err


def test_a_followed_session_reads_in_its_region(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # gzip: read whole, and the following ends by itself.
    packed = tmp_path / "sess2.jsonl.gz"
    packed.write_bytes(gzip.compress(Path(_session(tmp_path / "s.jsonl", "GB")).read_bytes()))
    assert main(["live", "--from", str(packed), "--format", "jsonl"]) == 0
    out, err = capsys.readouterr()
    assert _msisdns(out) == ["+447700900123"]
    assert "region GB, from the session's metadata" in err


def test_a_report_of_a_session_reads_in_its_region(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session = _session(tmp_path / "sess2.jsonl", "GB")
    report = tmp_path / "r.md"
    assert main(["report", "--no-redact", "-o", str(report), session]) == 0
    assert "+447700900123" in report.read_text()
    assert "region GB, from the session's metadata" in capsys.readouterr().err


def test_a_session_opened_in_the_dashboard_reads_in_its_region(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import tui.cmd_open

    regions: list[str | None] = []

    def dashboard(source: object, detector: object, *args: object, **kw: object) -> int:
        regions.append(getattr(detector, "region", None))
        return 0

    monkeypatch.setattr(tui.cmd_open, "run_dashboard", dashboard)
    session = _session(tmp_path / "sess2.jsonl", "GB")
    assert main(["open", session]) == 0
    assert regions == ["GB"]
    assert "region GB, from the session's metadata" in capsys.readouterr().err


def test_a_pcapng_session_saved_with_a_canary_not_given_now_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Its findings are found again from its packets: what only the canary found (a
    # hashed number) went without a word, in a report too.
    demo = str(demo_capture_path())
    session = str(tmp_path / "s.pcapng")
    info = SessionInfo.new(source="file", region="GB", canaries=("+447700900123",))
    save_session(session, [demo], [], info=info)
    assert main(["scan", session]) == 0
    err = capsys.readouterr().err
    assert (
        f"headerwatch: note: the session was saved with canaries not given now ({session}: "
        "1 canary; its metadata keeps their digests)"
    ) in err
    assert main(["scan", "--msisdn", "07700900123", session]) == 0
    assert "canaries not given now" not in capsys.readouterr().err
