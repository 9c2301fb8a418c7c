"""The libphonenumber cost bench times what it says (a shape check on a small ad
capture, not a measurement)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.packets.writer import write_pcap

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import gen_capture

BENCH = Path(gen_capture.__file__).resolve().parent


def test_the_phone_cost_bench_counts_the_numbers_a_scan_reads_its_share_and_times_three_forms(
    tmp_path: Path,
) -> None:
    capture = tmp_path / "ad.pcap"
    write_pcap(str(capture), gen_capture.frames(400, 50, bodies="small", traffic="ad"))
    done = subprocess.run(
        [sys.executable, str(BENCH / "phone_cost.py"), "--capture", str(capture)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    lines = done.stdout.splitlines()
    assert lines[1].startswith("libphonenumber's import: ")
    scan_line = lines[2]
    assert scan_line.startswith("in a scan of ad.pcap")
    # A tenth of 50 clients leak: a few distinct values, each read once.
    values = int(scan_line.split(" distinct values read")[0].rsplit(" ", 1)[1])
    assert 1 <= values <= 50
    assert " regex compiles " in scan_line
    share = lines[3]
    assert share.startswith("libphonenumber in all (import and calls): ")
    assert " of the same scan without detection (" in share
    assert [line.split(" us ")[1] for line in lines[4:]] == [
        " UK mobile, international digits, --region GB (parse_lenient)",
        " US number, international digits, --region GB (parse_lenient)",
        " French mobile written +33 6 ... (parse_e164)",
    ]


def test_scan_cost_puts_back_every_call_it_timed(tmp_path: Path) -> None:
    import phone_cost

    from capture.identity import phone

    lib = phone.libphonenumber()
    before = {name: getattr(lib, name) for name in phone_cost._CALLS}
    capture = tmp_path / "ad.pcap"
    write_pcap(str(capture), gen_capture.frames(100, 20, bodies="small", traffic="ad"))
    spent = phone_cost.scan_cost(capture)
    assert spent["cpu"] > 0 and spent["calls"] >= spent["readings"] >= 0
    assert {name: getattr(lib, name) for name in phone_cost._CALLS} == before
