"""``--format table``: truthful at 80 columns and wide, and the same in a pipe."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from capture.formats.outputs import OUTPUTS
from capture.formats.table import (
    IDENTITIES_LEAST,
    identities_cell,
    layout_for,
    record_line,
    table_lines,
)
from capture.identity.detector import IdentityConfig, IdentityDetector
from capture.model import Record, RequestSeen, Transit
from capture.pipeline import Pipeline
from capture.sources.source import FileSource
from tests.capture.factories import finding, record, response

DEMO = str(Path(__file__).parents[3] / "capture/data/demo-o2-2012.pcap")
TITLES = ["TIME", "CLIENT", "METHOD", "HOST", "PATH", "IDENTITIES"]
CLOCK = re.compile(r"\d\d:\d\d:\d\dZ")
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def _demo() -> list[Record]:
    detector = IdentityDetector(IdentityConfig(region="GB"))
    events = Pipeline(detector).run(f for f in FileSource([DEMO]).frames() if f)
    return [e.record for e in events if isinstance(e, RequestSeen)]


def _table(records: list[Record], width: int | None) -> list[str]:
    table = OUTPUTS["table"].at_width(width)
    assert table.line is not None and table.header is not None
    return [table.header, *"\n".join(table.line(r) for r in records).split("\n")]


def _altered(**kw: object) -> Record:
    """A record a reflector echoed: a carrier added the number, stripped Accept and
    rewrote the User-Agent."""
    moved = Transit(
        received=(("Host", "bbc.co.uk"), ("X-MSISDN", "447700900123")),
        injected=(("X-MSISDN", "447700900123"),),
        removed=(("Accept", "*/*"),),
        changed=(("User-Agent", "app/1", "app/1 carrier"),),
    )
    findings = (finding(name="X-MSISDN"), finding("network_info", name="Via", severity="info"))
    return Record(1, record(**kw).request, findings, None, moved)


@pytest.fixture
def new_york() -> Iterator[None]:
    """A local zone five hours from UTC: the table must not follow it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "EST+5")  # POSIX: needs no zone database
        time.tzset()
        assert time.timezone == 5 * 3600
        yield
    time.tzset()


def test_at_80_columns_every_row_says_when_which_client_which_host_and_which_identities(
    new_york: None,
) -> None:
    records = _demo()
    lines = _table(records, 80)
    assert lines[0].split() == TITLES
    assert lines[1] == "── 2012-01-10 UTC ──"  # the date and the zone, before the rows
    rows = lines[2:]
    assert len(rows) == len(records) == 28
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    for line, rec in zip(rows, records, strict=True):
        stamp, client, method, host = line.split()[:4]
        assert CLOCK.fullmatch(stamp) and stamp == time.strftime(
            "%H:%M:%SZ", time.gmtime(rec.request.ts)
        )
        assert client == rec.request.src and method == "GET"
        assert host.lstrip("…") in rec.request.destination
        kinds = [f.kind for f in rec.findings if f.is_identity]
        assert [k for k in re.findall(r"(\w+)=", line) if k in kinds] == kinds, line
    assert rows[0].endswith("www.bbc.co.uk    /sp… msisdn=+447700900123")
    # No room for two values whole: each is cut where it shows, its kind kept.
    [ad] = [line for line in rows if "ads.adnetwork" in line or "…network.example" in line]
    assert ad.endswith("msisdn=+4477… imei=49015…")


def test_wide_rows_carry_date_zone_milliseconds_port_and_identities_whole(new_york: None) -> None:
    records = _demo()
    lines = _table(records, 200)
    assert lines[0].split() == TITLES and not any(line.startswith("──") for line in lines)
    assert all(len(line) <= 200 for line in lines)
    first = lines[1].split()
    assert first[:3] == ["2012-01-10T14:22:11.053Z", "203.0.113.7:49153", "GET"]
    assert first[-3:] == ["msisdn:x-up-calling-line-id=+447700900123", "(+2", "info)"]
    assert all(ISO.fullmatch(line.split()[0]) for line in lines[1:])
    # The supercookie whole, its header name dropped to make room.
    assert lines[-1].endswith(
        "tracking_id=OTgxNTk2NDk0ADJVquRu5NS5+rSbBANlrp+13QL7CXLGsFHpMi4LsUHw"
    )


def test_a_file_or_pipe_gets_every_column_whole_whatever_the_terminal(new_york: None) -> None:
    table = OUTPUTS["table"]
    assert table.at_width(None) is table
    long_host = "a-very-long-subdomain.of.an-advertising-network.example"
    rec = record(
        src="2001:db8:85a3::8a2e:370:7334",
        headers=(("Host", long_host),),
        findings=(finding(), finding("imei", name="imei", normalized="490154203237518")),
    )
    assert table.line is not None
    piped = table.line(rec)
    assert piped.split()[:4] == [
        "2012-01-10T14:22:11.520Z",
        "[2001:db8:85a3::8a2e:370:7334]:40001",
        "GET",
        long_host,
    ]
    assert piped.endswith("msisdn:x-up-calling-line-id=+447700900123 imei:imei=490154203237518")
    narrow = record_line(rec, layout_for(80))
    assert len(narrow) == 80
    assert narrow.split()[1:4] == ["…:8a2e:370:7334", "GET", "…network.example"]


def test_a_reflectors_echo_shows_at_80_columns_and_wide_and_plain_rows_show_none() -> None:
    altered = _altered()
    full = (
        "msisdn:X-MSISDN=+447700900123 (+1 info) "
        "injected:X-MSISDN removed:Accept changed:User-Agent"
    )
    assert record_line(altered, layout_for(250)).endswith("  " + full)
    assert record_line(altered).endswith("  " + full)  # in a file or a pipe
    wide = record_line(altered, layout_for(200))
    assert wide.endswith("  msisdn=+447700900123 (+1 info) +X-MSISDN -Accept ~User-Agent")
    narrow = record_line(altered, layout_for(80))
    assert len(narrow) <= 80
    # The number is the evidence: whole, the marks together without their names.
    assert narrow.endswith(" /pa… msisdn=+447700900123 +-~…")
    assert record_line(altered, layout_for(90)).endswith(
        "msisdn=+447700900123 +X-… -Ac… ~Us…"  # the names are cut first
    )
    assert record_line(altered, layout_for(110)).endswith(
        "msisdn=+447700900123 +X-MSISDN -Accept ~User-Agent"
    )
    plain = record_line(record(findings=(finding(),)), layout_for(80))
    assert plain.endswith("msisdn=+447700900123") and "+…" not in plain
    assert record_line(record(), layout_for(80)).endswith("/pa…")


@pytest.mark.parametrize("width", range(IDENTITIES_LEAST, 120))
def test_a_short_identities_cell_keeps_how_many_identities_and_their_kinds(width: int) -> None:
    findings = (
        finding(),
        finding("imei", name="imei", normalized="490154203237518"),
        finding("imsi", name="x-imsi", normalized="234101234567890"),
        finding("msisdn", name="x-msisdn", normalized="+447700900124"),
    )
    rec = Record(1, record().request, findings, None, _altered().transit)
    cell = identities_cell(rec, width)
    assert len(cell) <= width
    kinds = ["msisdn", "imei", "imsi", "msisdn"]
    if re.match(r"\w+[:=]", cell):  # each identity with as much of its value as fits
        assert re.findall(r"(\w+)[:=]", cell)[:4] == kinds
        assert all(len(v) >= 4 for v in re.findall(r"=(\S+)", cell)), cell
        marks = re.findall(r" ([+~-])", cell)
        assert marks == ["+", "-", "~"] or cell.endswith(" +-~…") or "injected:" in cell
    else:  # how many, the kinds as far as they fit, and the marks (with counts if room)
        assert width < 60
        summary = "4 identities: msisdn,imei,imsi,msisdn"
        marks = " +1 -1 ~1" if cell.endswith(" +1 -1 ~1") else " +-~"
        assert cell.endswith(marks), cell
        head = cell[: -len(marks)]
        assert head.startswith("4 identities"), cell
        assert head in (summary, "4 identities") or (head[:-1] in summary and head.endswith("…")), (
            cell
        )


def test_date_lines_come_first_and_where_the_utc_date_changes(new_york: None) -> None:
    before, after = 1326239999.5, 1326240000.25  # 23:59:59 and 00:00:00 UTC
    records = [record(ts=before), record(ts=before), record(ts=after), record(ts=before)]
    line = table_lines(layout_for(80))
    text = "\n".join(line(r) for r in records).split("\n")
    assert [t for t in text if t.startswith("──")] == [
        "── 2012-01-10 UTC ──",
        "── 2012-01-11 UTC ──",
        "── 2012-01-10 UTC ──",
    ]
    assert [t.split()[0] for t in text if not t.startswith("──")] == [
        "23:59:59Z",
        "23:59:59Z",
        "00:00:00Z",
        "23:59:59Z",
    ]
    # Each output starts again: its first row comes with its date.
    assert table_lines(layout_for(80))(records[0]).startswith("── 2012-01-10 UTC ──\n")


def test_every_width_fits_from_75_columns_and_identities_keep_their_least() -> None:
    records = [*_demo(), _altered(), record(src="", sport=0, app=None)]
    for width in range(75, 301):
        layout = layout_for(width)
        assert layout.identities is not None and layout.identities >= IDENTITIES_LEAST
        line = table_lines(layout)
        for rec in records:
            assert all(len(part) <= width for part in line(rec).split("\n")), (width, rec)
    assert layout_for(40).identities == IDENTITIES_LEAST


def test_a_request_without_a_client_says_so() -> None:
    unknown = record(src="", sport=0)
    assert record_line(unknown).split()[1] == "(unknown)"
    assert record_line(unknown, layout_for(80)).split()[1] == "(unknown)"
    app = record(app="com.example.fruitgame.deluxe")
    assert record_line(app, layout_for(80)).split()[1] == "…uitgame.deluxe"


@pytest.mark.parametrize("width", [None, 80, 200])
def test_an_absolute_form_target_shows_its_path_as_the_dashboard_does(width: int | None) -> None:
    # A HAR entry or a request to a proxy: the host has its column, PATH the path.
    proxied = record(uri="http://ads.example/v2/ad?imei=1", headers=())
    row = record_line(proxied, layout_for(width))
    assert "ads.example" in row and "http://" not in row
    assert re.search(r" /v2(/ad|…)", row), row


RESET = "TCP reset not at the next byte passed over (the server may have ignored it too)"


@pytest.mark.parametrize("width", [None, 75, 80, 200])
def test_a_request_with_anomalies_starts_its_identities_cell_with_a_mark(
    width: int | None,
) -> None:
    layout = layout_for(width)
    number = record(findings=(finding(),), anomalies=(RESET,))
    row = record_line(number, layout)
    # Whole from 80 columns; at 75 the mark's two cells cut the value, never the kind.
    whole = width != 75
    assert re.search(r" ⚠ msisdn[:=]\S*\+44770090" + ("0123$" if whole else ".*…$"), row), row
    assert width is None or len(row) <= width
    # A request with nothing found still carries it; one without anomalies does not.
    assert record_line(record(anomalies=(RESET,)), layout).endswith(" ⚠")
    assert "⚠" not in record_line(record(findings=(finding(),)), layout)
    # A response's anomalies are caveats too (the detail lists them under Response).
    odd = record(resp=response(anomalies=("bare LF line endings",)))
    assert record_line(odd, layout).endswith(" ⚠")


def test_the_anomaly_mark_leaves_each_identity_its_kind_at_80_columns() -> None:
    two = (finding(), finding("imei", name="imei", normalized="490154203237518"))
    for rec, kinds in (
        (record(findings=two, anomalies=(RESET,)), ["msisdn", "imei"]),
        (_altered(anomalies=(RESET,)), ["msisdn"]),  # a reflector's marks give way first
    ):
        row = record_line(rec, layout_for(80))
        assert len(row) <= 80 and " ⚠ " in row, row
        assert re.findall(r"(msisdn|imei)=", row.split("⚠")[1]) == kinds, row
