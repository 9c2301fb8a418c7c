"""``headerwatch report`` as a user runs it: the demo capture, raw and redacted, errors,
and a study over real probe results (a reflector, and a carrier's enrichment proxy)."""

from __future__ import annotations

import html as html_lib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.carrier import enrichment_proxy
from tests.chromium import load
from tests.helpers import SUPERCOOKIE, supercookie_capture
from tests.mitmproxy_lab import mitmdump_with_addon, plain_server
from tests.tui.test_cli_probe import _free_port, headerwatch, reflector  # noqa: F401

DEMO = Path(__file__).resolve().parents[2] / "capture" / "data" / "demo-o2-2012.pcap"
PCAPDROID = (
    Path(__file__).resolve().parents[2] / "tests" / "data" / "pcapdroid" / "demo-uidmap.pcapng"
)
SITES = ("www.bbc.co.uk", "www.guardian.co.uk", "m.facebook.com", "www.google.co.uk",
         "news.bbc.co.uk", "ads.adnetwork.example")  # fmt: skip


def test_the_demo_report_says_the_o2_number_went_to_its_sites_in_an_enrichment_header(
    tmp_path: Path,
) -> None:
    out = tmp_path / "demo.html"
    result = headerwatch("report", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    text = out.read_text(encoding="utf-8")
    lead = re.search(r'<p class="lead">(.*?)</p>', text, re.S)
    assert lead is not None
    assert lead.group(1).startswith("The phone number &lt;msisdn …23 #")
    assert "went to 6 sites" in lead.group(1)
    assert all(site in lead.group(1) for site in SITES)
    assert "in the header x-up-calling-line-id" in lead.group(1)
    # A pcap does not say where it was taken: what decides who added it is said.
    assert "(header enrichment): if this traffic was recorded after the carrier" in lead.group(1)
    assert "not the phone" not in lead.group(1)
    assert "447700900123" not in text  # redacted by default
    page = load(out.as_uri(), tmp_path / "demo.png", ("document.querySelectorAll('svg').length",))
    assert page.errors == [] and page.requests == [out.as_uri()]
    assert page.values["document.querySelectorAll('svg').length"] == 1


def test_the_demo_report_reads_the_demo_capture_in_its_own_region_as_demo_does(
    tmp_path: Path,
) -> None:
    # The bundled capture is O2 UK's: without an input, report read it in the locale's
    # region, and under C.UTF-8 said that national numbers were not read.
    out = tmp_path / "demo.md"
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", "report", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "LANG": "C.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""},
    )
    assert result.returncode == 0, result.stderr
    assert "no region" not in result.stderr


@pytest.mark.parametrize(
    ("capture", "requests"),
    # PCAPdroid's pcapng holds its UID map in a Custom Block, which Wireshark numbers
    # as a frame: the Appendix was one short of Wireshark from there on.
    [(DEMO, 20), (PCAPDROID, 20)],
)
def test_the_appendix_frame_numbers_are_the_requests_in_wireshark(
    tmp_path: Path, capture: Path, requests: int
) -> None:
    if shutil.which("tshark") is None:
        pytest.skip("needs tshark (apt-get install tshark; .ci/run installs it)")
    out = tmp_path / "demo.md"
    assert headerwatch("report", str(capture), "-o", str(out)).returncode == 0
    rows = re.findall(
        r"^\| (\d+) \| .*? \| (\S+) \| .* \| (\d+) \| [^|]+ \|$", out.read_text(), re.M
    )
    assert len(rows) == requests
    hosts = _shark_hosts(capture, [frame for _, _, frame in rows])
    assert {frame: host.replace("\\", "") for _, host, frame in rows} == hosts


def _shark_hosts(path: Path, frames: list[str]) -> dict[str, str]:
    """tshark's frame number → HTTP host of each of ``frames`` in ``path``."""
    numbers = ", ".join(frames)
    shark = subprocess.run(
        ["tshark", "-r", str(path), "-Y", f"frame.number in {{{numbers}}}",
         "-T", "fields", "-e", "frame.number", "-e", "http.host"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return dict(line.split("\t") for line in shark.stdout.splitlines())


def test_no_redact_shows_the_number_and_warns_the_reader(tmp_path: Path) -> None:
    out = tmp_path / "raw.md"
    result = headerwatch("report", "--no-redact", "-o", str(out))
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert "+447700900123" in text.replace("\\", "")
    assert text.splitlines()[2].startswith("**This report holds raw identities")


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_no_redact_of_a_redacted_input_says_its_values_are_masks_not_raw(
    tmp_path: Path, fmt: str
) -> None:
    red = tmp_path / "red.jsonl"
    scanned = headerwatch("scan", "--redact", "--region", "GB", str(DEMO))
    red.write_text(scanned.stdout, encoding="utf-8")
    out = tmp_path / f"report.{fmt}"
    result = headerwatch("report", "--no-redact", "-o", str(out), str(red))
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert "holds raw identities" not in text and "raw identities)" not in result.stderr
    assert "its input was redacted already" in text.replace("\\", "")
    assert "(md, masked already in its input)" in result.stderr or fmt == "html"


def test_a_report_of_a_redacted_scan_shows_its_identities_as_the_scan_wrote_them(
    tmp_path: Path,
) -> None:
    """Not read again from its masks (an opaque subscriber ID, the IMEI lost), nor masked
    again (the mask of a mask would give its hash's digits as the number's last two)."""
    red = tmp_path / "red.jsonl"
    scanned = headerwatch("scan", "--redact", "--region", "GB", str(DEMO))
    assert scanned.returncode == 0, scanned.stderr
    assert "; 21 identities in 20 requests" in scanned.stderr
    red.write_text(scanned.stdout, encoding="utf-8")
    findings = [f for line in scanned.stdout.splitlines() for f in json.loads(line)["findings"]]
    masks = {f["kind"]: f["value"] for f in findings if f["kind"] in ("msisdn", "imei")}
    assert masks["msisdn"].startswith("<msisdn …23 #") and masks["imei"].startswith("<imei …")
    again = headerwatch("scan", "--region", "GB", str(red))
    assert again.returncode == 0 and "; 21 identities in 20 requests" in again.stderr
    assert again.stdout == scanned.stdout
    out = tmp_path / "red.md"
    assert headerwatch("report", "--region", "GB", str(red), "-o", str(out)).returncode == 0
    text = out.read_text(encoding="utf-8").replace("\\", "")
    assert f"The phone number {masks['msisdn']} went to 6 sites" in text
    assert f"| handset identity (IMEI) | {masks['imei']} | imei | query |" in text
    assert "subscriber ID" not in text and "subscriber_id" not in text
    # The scan's pseudonyms are the report's: a pseudonym gets no second one.
    records = [json.loads(line) for line in scanned.stdout.splitlines()]
    clients = {r["src"] for r in records if r["findings"]}
    assert len(clients) == 2 and all(f" {client}:" in text for client in clients)


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_a_redacted_report_holds_no_trace_of_a_supercookie_added_before_it_was_found(
    tmp_path: Path, fmt: str
) -> None:
    """The network adds the token to all four requests (a reflector's echo shows it);
    ``--recurrence 3`` finds it from the third on, and gives its finding to the first
    two too (they took it to its first sites). The report shows every request altered
    on the way: the token is masked in each as it is where it was found."""
    capture = supercookie_capture(tmp_path, injected=True)
    raw = tmp_path / f"raw.{fmt}"
    args = ("report", "--recurrence", "3", capture)
    assert headerwatch(*args, "--no-redact", "-o", str(raw)).returncode == 0
    assert SUPERCOOKIE in html_lib.unescape(raw.read_text(encoding="utf-8")).replace("\\", "")
    out = tmp_path / f"red.{fmt}"
    result = headerwatch(*args, "-o", str(out))
    assert result.returncode == 0, result.stderr
    text = html_lib.unescape(out.read_text(encoding="utf-8")).replace("\\", "")
    assert SUPERCOOKIE[:16] not in text
    masks = re.findall(r"<tracking_id …74 #[0-9a-f]{10}>", text)
    assert len(set(masks)) == 1
    assert f"X-Sub-Tag: {masks[0]}" in text  # the injected header of each request
    assert "The tracking ID <tracking_id …74 #" in text and "went to 4 sites" in text


def test_a_name_without_a_known_suffix_or_an_unreadable_input_is_one_line(tmp_path: Path) -> None:
    bad = headerwatch("report", "-o", str(tmp_path / "report.pdf"))
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        f"headerwatch: error: {tmp_path / 'report.pdf'}: cannot tell the format from the "
        "name; use .html or .md, or --format"
    ]
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01 not a capture")
    result = headerwatch("report", str(junk), "-o", str(tmp_path / "r.html"))
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"headerwatch: error: {junk}: not a file headerwatch reads")
    assert not (tmp_path / "r.html").exists()


def test_an_input_in_which_nothing_could_be_read_is_an_error_as_scan_says_it(
    tmp_path: Path,
) -> None:
    """Before: one warning, then a report of "0 HTTP requests" and status 0."""
    junk = tmp_path / "notrec.jsonl"
    junk.write_text('{"foo":1}\n{"bar":2}\n')
    out = tmp_path / "r.md"
    result = headerwatch("report", str(junk), "-o", str(out))
    scanned = headerwatch("scan", str(junk))
    assert result.returncode == scanned.returncode == 2
    assert result.stderr.splitlines() == [
        f"headerwatch: error: {junk}: nothing read: none of its 2 lines are headerwatch "
        "JSONL records (first: line 1: ts: missing)"
    ]
    assert scanned.stderr.splitlines() == result.stderr.splitlines()
    assert not out.exists()
    # Beside inputs that could be read: said after them, and no report hides it.
    several = headerwatch("report", str(DEMO), str(junk), "-o", str(out))
    assert several.returncode == 2
    assert several.stderr.splitlines() == result.stderr.splitlines()
    assert not out.exists()


def test_a_report_refuses_an_input_named_twice_whose_requests_would_count_twice(
    tmp_path: Path,
) -> None:
    result = headerwatch("report", str(DEMO), str(DEMO), "-o", str(tmp_path / "r.md"))
    assert result.returncode == 2
    assert result.stderr == (
        f"headerwatch: error: {DEMO}: given twice; each input is read once "
        "(twice, its requests would count twice)\n"
    )
    assert not (tmp_path / "r.md").exists()


def test_a_report_replaces_an_earlier_one_but_never_one_of_its_inputs(tmp_path: Path) -> None:
    capture = tmp_path / "lab.pcap"
    shutil.copy(DEMO, capture)
    onto = headerwatch("report", str(capture), "-o", str(capture), "--format", "html")
    assert onto.returncode == 2
    assert onto.stderr == f"headerwatch: error: {capture} is an input; not replaced\n"
    assert capture.read_bytes() == DEMO.read_bytes()
    report = tmp_path / "report.md"
    report.write_text("an earlier report\n")
    assert headerwatch("report", str(capture), "-o", str(report)).returncode == 0
    assert report.read_text().startswith("# ")


def test_a_study_of_real_probe_results_gives_each_network_its_verdicts(
    tmp_path: Path,
    reflector: tuple[subprocess.Popen[str], int],  # noqa: F811
) -> None:
    _, port = reflector
    results = tmp_path / "probes.jsonl"
    lines: list[str] = []
    with enrichment_proxy(("127.0.0.1", port), {"X-MSISDN": "447700900456"}) as proxy:
        url = f"http://127.0.0.1:{proxy}/"
        injecting = headerwatch(
            "probe", "--format", "jsonl", "--label", "carrier=Lab Injecting", url, url
        )
        lines += injecting.stdout.splitlines()
    clean = headerwatch("probe", "--format", "jsonl", "--label", "carrier=Lab Clean",
                        f"http://127.0.0.1:{port}/", "https://127.0.0.1/")  # fmt: skip
    lines += clean.stdout.splitlines()
    assert len(lines) == 4, injecting.stderr + clean.stderr
    results.write_text("\n".join(lines) + "\n")
    out = tmp_path / "study.md"
    result = headerwatch("report", "--region", "GB", str(results), "-o", str(out))
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8").replace("\\", "")
    assert "| carrier=Lab Injecting | 2 | 2 | 0 | 0 | 0 | X-MSISDN |" in text
    assert "| carrier=Lab Clean | 2 | 0 | 0 | 1 | 1 | none |" in text
    assert "447700900456" not in text
    assert "HTTPS: nothing can be added inside TLS" in text
    assert json.loads(lines[0])["label"] == "carrier=Lab Injecting"
    html = tmp_path / "study.html"
    assert headerwatch("report", str(results), "-o", str(html)).returncode == 0
    page = load(
        html.as_uri(), tmp_path / "study.png", ("document.querySelectorAll('svg rect').length",)
    )
    assert page.errors == [] and page.requests == [html.as_uri()]
    assert page.values["document.querySelectorAll('svg rect').length"] >= 4


def test_report_is_a_command_of_the_cli() -> None:
    result = subprocess.run([sys.executable, "-m", "tui.cli", "report", "--help"],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0 and "--no-redact" in result.stdout


def test_a_study_of_a_reflectors_log_says_what_arrived_and_the_probes_what_was_injected(
    tmp_path: Path,
    reflector: tuple[subprocess.Popen[str], int],  # noqa: F811
) -> None:
    proc, port = reflector
    probe = ("probe", "--format", "jsonl", "--label", "carrier=Lab, sent side")
    with enrichment_proxy(("127.0.0.1", port), {"X-MSISDN": "447700900456"}) as proxy:
        injecting = headerwatch(*probe, f"http://127.0.0.1:{proxy}/")
    clean = headerwatch(*probe, f"http://127.0.0.1:{port}/")
    assert injecting.returncode == clean.returncode == 0, injecting.stderr + clean.stderr
    results = tmp_path / "probes.jsonl"
    results.write_text(injecting.stdout + clean.stdout)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=10)
    log = tmp_path / "reflect.jsonl"
    log.write_text(out)
    assert len(out.splitlines()) == 2
    # Each line says it is the request as a reflector received it.
    assert all(json.loads(line)["reflector"] is True for line in out.splitlines())
    report = tmp_path / "study.md"
    result = headerwatch("report", "--study", "--label", "carrier=Lab, log", "--region", "GB",
                         str(log), str(results), "-o", str(report))  # fmt: skip
    assert result.returncode == 0, result.stderr
    text = report.read_text(encoding="utf-8").replace("\\", "")
    # The same two requests: the log shows the number arrive, not who added it (before,
    # "1 injected" and X-MSISDN as a header added); the probes' echoes show it injected.
    assert "| carrier=Lab, log | 2 | 0 | 1 | 1 | 0 | not known (no echo) |" in text
    assert "| carrier=Lab, sent side | 2 | 1 | 0 | 1 | 0 | X-MSISDN |" in text
    assert (
        "received by the reflector with an identity header (X-MSISDN); who put it there is "
        "not known without what was sent" in text
    )
    assert "injected on the way in carrier=Lab, sent side." in result.stderr
    assert "An identity arrived at a reflector in carrier=Lab, log: its log holds" in result.stderr


def test_a_capture_on_standard_input_is_reported_without_a_hash(tmp_path: Path) -> None:
    out = tmp_path / "stdin.md"
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", "report", "-", "-o", str(out)],
        input=DEMO.read_bytes(), capture_output=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8").replace("\\", "")
    assert (
        "| (standard input) | pcap or pcapng capture | — | not computed (standard input) |" in text
    )
    assert "went to 6 sites" in text


def _not_inspected(text: str) -> dict[str, str]:
    """The Not inspected table of a Markdown report: what → count."""
    section = text.split("## Not inspected", 1)[1].split("## Method", 1)[0]
    rows = re.findall(r"^\| ([^|]+?) \| ([^|]+?) \| [^|]+ \|$", section, re.M)
    return {what.split(" (")[0]: count for what, count in rows if what != "What"}


@pytest.mark.parametrize("fmt", ["jsonl", "har"])
def test_a_report_of_records_says_what_they_cannot_tell_is_not_known(
    tmp_path: Path, fmt: str
) -> None:
    export = tmp_path / f"export.{fmt}"
    scanned = headerwatch("scan", "--format", fmt, str(DEMO))
    assert scanned.returncode == 0, scanned.stderr
    export.write_text(scanned.stdout)
    out = tmp_path / "records.md"
    assert headerwatch("report", str(export), "-o", str(out)).returncode == 0
    text = out.read_text(encoding="utf-8").replace("\\", "")
    counts = _not_inspected(text)
    assert len(counts) == 13 and set(counts.values()) == {"not known"}
    assert "Not known does not mean none." in text
    appendix = text.split("## Appendix", 1)[1]
    assert "The input gives no frame numbers" in appendix and "Ctrl-G" not in appendix
    assert "| # | Time | Site | Identities | Connection |" in appendix  # no column of dashes
    # The capture itself: its count, and the Wireshark way to each request.
    capture = tmp_path / "capture.md"
    assert headerwatch("report", str(DEMO), "-o", str(capture)).returncode == 0
    text = capture.read_text(encoding="utf-8").replace("\\", "")
    assert _not_inspected(text)["Encrypted or non-HTTP TCP connections"] == "1"
    assert "go to the frame (Ctrl-G)" in text
    # Both: the capture's counts, said to be the capture's only.
    both = tmp_path / "both.md"
    assert headerwatch("report", str(DEMO), str(export), "-o", str(both)).returncode == 0
    text = both.read_text(encoding="utf-8").replace("\\", "")
    assert _not_inspected(text)["Encrypted or non-HTTP TCP connections"] == "1"
    assert f"The counts are of the captures only ({DEMO})" in text
    assert f"| {export} | — |" in text  # a record's row names its input, without a frame


def test_a_study_of_requests_no_reflector_saw_judges_none_of_them(tmp_path: Path) -> None:
    export = tmp_path / "demo.jsonl"
    scanned = headerwatch("scan", str(DEMO))
    assert scanned.returncode == 0, scanned.stderr
    export.write_text(scanned.stdout)
    for name, inputs in (("capture", ()), ("records", (str(export),))):
        out = tmp_path / f"{name}.md"
        result = headerwatch("report", "--study", *inputs, "-o", str(out))
        assert result.returncode == 0, result.stderr
        text = out.read_text(encoding="utf-8").replace("\\", "")
        # Each network's range is masked, as the report is redacted by default.
        # No echo: neither what was added nor that nothing was is known.
        row = r"\| <client /24 #[0-9a-f]+> \| (\d+) \| 0 \| 0 \| 0 \| (\d+) \| "
        row += r"not known \(no echo\) \|"
        rows = re.findall(row, text)
        assert sorted(rows) == [("19", "19"), ("9", "9")], name
        assert "received by the reflector" not in text and "**clean**" not in text
        assert "no reflector's echo: it carried an identity header (x-up-calling-line-id)" in text
        assert "None of them could tell whether a network added an identity" in result.stderr


def test_the_appendix_of_two_captures_numbers_each_request_in_its_own_file(
    tmp_path: Path,
) -> None:
    if shutil.which("tshark") is None:
        pytest.skip("needs tshark (apt-get install tshark; .ci/run installs it)")
    # The same traffic twice, found in each file: not a byte copy (a copy is refused,
    # its requests counted twice), its global header's sigfigs, which no reader uses,
    # set apart.
    copy = tmp_path / "again.pcap"
    data = bytearray(Path(DEMO).read_bytes())
    data[12] ^= 1
    copy.write_bytes(bytes(data))
    out = tmp_path / "two.md"
    assert headerwatch("report", str(DEMO), str(copy), "-o", str(out)).returncode == 0
    rows = re.findall(
        r"^\| \d+ \| .*? \| (\S+) \| .* \| (\S+) \| (\d+) \| [^|]+ \|$", out.read_text(), re.M
    )
    assert len(rows) == 40
    for path in (DEMO, copy):
        mine = [(host, frame) for host, name, frame in rows if name.replace("\\", "") == str(path)]
        assert len(mine) == 20
        hosts = _shark_hosts(path, [frame for _, frame in mine])
        assert {frame: host.replace("\\", "") for host, frame in mine} == hosts


def test_a_report_of_the_mitmproxy_add_ons_records_says_the_phone_sent_the_number(
    tmp_path: Path,
) -> None:
    # The real mitmdump with the add-on, curl through it as the phone's app: the
    # add-on sees the request before any network, so an enrichment header in it was
    # sent by the phone or an app, never added by the carrier.
    records = tmp_path / "phone.jsonl"
    with plain_server() as port, mitmdump_with_addon(tmp_path, str(records)) as proxy:
        sent = proxy.curl(f"http://127.0.0.1:{port}/news", "-H", "X-MSISDN: 447700900123")
        assert sent.stdout.startswith("200"), sent.stderr
    out = tmp_path / "phone.md"
    result = headerwatch("report", "--region", "GB", str(records), "-o", str(out))
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    lead = next(line for line in text.splitlines() if line.startswith("**The "))
    lead = lead.replace("\\", "")  # Markdown's escapes
    assert "in the header X-MSISDN" in lead
    assert "sent by the phone or an app on it: seen before any network" in lead
    assert "the network added it" not in lead


def test_how_a_session_was_made_is_a_note_and_a_capture_cut_short_a_warning(
    tmp_path: Path,
) -> None:
    from capture.formats.session import SessionInfo, save_session
    from capture.identity.detector import IdentityDetector
    from capture.report.write import read_inputs
    from capture.view.store import Entry

    records = read_inputs([str(DEMO)], IdentityDetector(), study=True).records
    session = tmp_path / "s.pcapng"
    info = SessionInfo.new("wlan0")
    save_session(str(session), [str(DEMO)], [Entry(r) for r in records], info=info)
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(session.read_bytes()[:-100])
    result = headerwatch("report", str(session), str(cut), "-o", str(tmp_path / "r.md"))
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    made = [line for line in lines if "a headerwatch session saved" in line]
    assert [line.split(": ")[1] for line in made] == ["note", "note"], lines
    warnings = [line for line in lines if line.startswith("headerwatch: warning: ")]
    assert warnings and all(str(cut) in line for line in warnings), lines


def test_the_context_names_a_record_sessions_filter_and_the_region_used_over_its_own(
    tmp_path: Path,
) -> None:
    from capture.formats.record_session import save_record_session
    from capture.formats.session import SessionInfo
    from capture.identity.detector import IdentityConfig, IdentityDetector
    from capture.report.write import read_inputs
    from capture.view.store import Entry

    gb = IdentityDetector(IdentityConfig(region="GB"))
    records = read_inputs([str(DEMO)], gb, study=True).records
    session = tmp_path / "s.jsonl"
    info = SessionInfo.judged_by(gb, source="proxy 127.0.0.1:8080", filter="~d bbc")
    save_record_session(str(session), [Entry(r) for r in records], info=info)
    out = tmp_path / "r.md"
    result = headerwatch("report", "--region", "FR", str(session), "-o", str(out))
    assert result.returncode == 0, result.stderr
    context = out.read_text(encoding="utf-8").replace("\\", "")
    assert "a selection: only the requests its view filter '~d bbc' showed" in context
    assert "national numbers read as region FR in this report, instead of the recorded GB" in (
        context
    )


def test_a_missing_input_or_a_directory_is_said_as_scan_says_it(tmp_path: Path) -> None:
    # Before: "cannot read (No such file or directory)" and "not a regular file (a
    # pipe?)" where scan says "no such file" and "is a directory, not a file".
    for target, said in [
        (tmp_path / "nonexist.pcap", "no such file"),
        (tmp_path, "is a directory, not a file"),
    ]:
        result = headerwatch("report", str(target), "-o", str(tmp_path / "r.md"))
        scanned = headerwatch("scan", str(target))
        assert result.returncode == scanned.returncode == 2
        assert result.stderr.splitlines() == [f"headerwatch: error: {target}: {said}"]
        assert scanned.stderr.splitlines() == result.stderr.splitlines()
    assert not (tmp_path / "r.md").exists()


def test_a_pipe_named_as_an_input_is_refused_in_one_line_saying_to_use_standard_input(
    tmp_path: Path,
) -> None:
    """``report <(zcat x.pcap.gz)``: the pipe can be read once, and a report reads each
    input more than once; it said "empty file" of a capture that was not."""
    import os

    fifo = tmp_path / "capture.pcap"
    os.mkfifo(fifo)
    writer = subprocess.Popen(["sh", "-c", f"cat '{DEMO}' > '{fifo}'"])
    try:
        result = headerwatch("report", str(fifo), "-o", str(tmp_path / "r.md"))
    finally:
        writer.kill()
        writer.wait()
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"headerwatch: error: {fifo}: not a regular file (a pipe?); a report reads each "
        "input more than once: save it to a file, or give it as - (standard input)"
    ]
    assert not (tmp_path / "r.md").exists()


@pytest.mark.parametrize("redacted", [True, False])
def test_the_appendix_says_how_to_find_a_request_whose_client_address_is_a_pseudonym(
    tmp_path: Path, redacted: bool
) -> None:
    # A list of requests (no frame numbers): the reader is told to look for each by its
    # connection. Redacted, the client's address shown is a pseudonym, which is in no
    # capture; before, the report said to look for "the addresses and ports below".
    records = tmp_path / "requests.jsonl"
    jsonl = headerwatch("scan", "--format", "jsonl", str(DEMO))
    records.write_text(jsonl.stdout)
    out = tmp_path / "r.md"
    options = [] if redacted else ["--no-redact"]
    result = headerwatch("report", str(records), "-o", str(out), *options)
    assert result.returncode == 0, result.stderr
    text = " ".join(out.read_text().replace("\\", "").split())  # Markdown's escapes out
    if redacted:
        assert (
            "look for its connection by the client's port, the server's address and port, "
            "and the time below (the client's address here is a pseudonym)"
        ) in text
    else:
        assert "look for its connection by the addresses and ports below, at its time" in text


def test_a_report_of_an_eve_log_says_how_many_requests_had_a_header_suricata_joined(
    tmp_path: Path,
) -> None:
    # scan and HAR keep the anomaly on the request; the report said nothing of it,
    # though a second, injected number can hide in a joined value.
    from tests.capture.sources.test_eve import _event

    eve = tmp_path / "eve.json"
    joined = _event([("X-MSISDN", "447700900582, 447700900583")])
    plain = {**_event([("X-MSISDN", "447700900584")]), "tx_id": 3}
    eve.write_text(json.dumps(joined) + "\n" + json.dumps(plain) + "\n")
    out = tmp_path / "r.md"
    result = headerwatch("report", str(eve), "-o", str(out))
    assert result.returncode == 0, result.stderr
    rows = [line for line in out.read_text().splitlines() if "the log joined" in line]
    assert len(rows) == 1 and "| 1 |" in rows[0], rows


def test_a_study_does_not_count_a_probe_that_failed_as_an_http_request(
    tmp_path: Path,
    reflector: tuple[subprocess.Popen[str], int],  # noqa: F811
) -> None:
    _, port = reflector
    dead = f"http://127.0.0.1:{_free_port()}/"
    probed = headerwatch("probe", "--format", "jsonl", f"http://127.0.0.1:{port}/", dead)
    results = tmp_path / "probes.jsonl"
    results.write_text(probed.stdout)
    assert [("error" in json.loads(line)) for line in probed.stdout.splitlines()] == [False, True]
    out = tmp_path / "study.md"
    assert headerwatch("report", str(results), "-o", str(out)).returncode == 0
    text = " ".join(out.read_text(encoding="utf-8").replace("\\", "").split())
    # Before: "2 HTTP requests", the refused probe among them; the study still has 2 tests.
    assert "1 HTTP request," in text and "2 HTTP requests" not in text


def test_a_report_shows_the_injection_a_late_echo_showed(tmp_path: Path) -> None:
    # The reflector answered after 6.5 s (a slow 3G proxy): the report read the
    # request without its echo and led with "No identity was found".
    from tests.capture.test_echo_paths import _late_echo

    out = tmp_path / "late.md"
    result = headerwatch("report", "--no-redact", _late_echo(tmp_path), "-o", str(out))
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8").replace("\\", "")
    assert "No identity was found" not in text
    assert "+447700900461" in text and "added on the way by the network" in text
