"""``--format table`` laid out for a terminal's width."""

from __future__ import annotations

from pathlib import Path

from capture.formats.outputs import OUTPUTS
from capture.formats.table import IDENTITIES_WANTED, columns_for, header_line
from capture.identity.detector import IdentityDetector
from capture.model import RequestSeen
from capture.pipeline import Pipeline
from capture.sources.source import FileSource


def test_without_a_width_the_columns_are_fixed() -> None:
    assert OUTPUTS["table"].at_width(None) is OUTPUTS["table"]
    assert header_line(columns_for(None)) == OUTPUTS["table"].header


def test_a_narrow_terminal_drops_port_then_milliseconds_then_client() -> None:
    assert dict(columns_for(159))["CLIENT"] == 22
    assert dict(columns_for(140))["CLIENT"] in (15, 22)
    narrow = dict(columns_for(80))
    assert (narrow["TIME"], narrow["CLIENT"]) == (8, 0)
    assert narrow["HOST"] >= 20 and narrow["PATH"] >= 16
    assert header_line(columns_for(80)).split() == ["TIME", "METHOD", "HOST", "PATH", "IDENTITIES"]


def test_the_fixed_part_leaves_identities_their_room_and_lines_fit() -> None:
    for width in (120, 160, 200, 300):
        fixed = sum(w + 2 for _, w in columns_for(width) if w)
        assert fixed + IDENTITIES_WANTED <= width, width
    demo = str(Path(__file__).parents[3] / "capture/data/demo-o2-2012.pcap")
    events = list(Pipeline(IdentityDetector()).run(f for f in FileSource([demo]).frames() if f))
    table = OUTPUTS["table"].at_width(120)
    assert table.line is not None
    msisdn_lines = [
        table.line(e.record)
        for e in events
        if isinstance(e, RequestSeen) and len(e.record.findings) == 3
    ]
    assert msisdn_lines and all(len(line) <= 120 for line in msisdn_lines)
    assert all("+447700900123" in line for line in msisdn_lines)
