"""The region a session file records, read back for a command that reopens it."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

from capture.formats.record_session import info_line
from capture.formats.recorded import recorded_info
from capture.formats.session import SessionInfo, canary_digest, save_session
from capture.view.store import Store
from tests.helpers import conversation, save, simple_request


def recorded_region(path: str) -> str | None:
    """What the session file ``path`` records as its region, as written: a region code
    (``gb``) or not (``ZZ``: the caller checks it). None for any other file, a session
    written without a region, one that cannot be read, and what is not a regular file."""
    info = recorded_info(path)
    return info.region if info is not None and info.region else None


RECORD = b'{"ts":1.0,"src":"10.0.0.2","sport":1,"dst":"192.0.2.1","dport":80,"method":"GET"}\n'


def _capture(tmp_path: Path) -> str:
    talk = conversation()
    return save(tmp_path, talk.handshake() + talk.send(True, simple_request("/")))


def test_a_record_session_gives_the_region_on_its_first_line_gzip_too(tmp_path: Path) -> None:
    lines = info_line(SessionInfo.new(region="gb")) + RECORD
    plain, packed = tmp_path / "s.jsonl", tmp_path / "s.jsonl.gz"
    plain.write_bytes(lines)
    packed.write_bytes(gzip.compress(lines))
    assert recorded_region(str(plain)) == recorded_region(str(packed)) == "gb"  # as written


def test_a_first_line_longer_than_the_bytes_looked_at_is_read_whole(tmp_path: Path) -> None:
    # Thousands of canaries: their digests come after the region, and the line goes on.
    info = SessionInfo.new(region="FR", canaries=[f"c{n}" for n in range(3000)])
    session = tmp_path / "s.jsonl"
    session.write_bytes(info_line(info) + RECORD)
    assert len(info_line(info)) > 1 << 16 and canary_digest("c1") in session.read_text()
    assert recorded_region(str(session)) == "FR"


def test_a_pcapng_session_gives_the_region_of_its_section_header(tmp_path: Path) -> None:
    out = str(tmp_path / "s.pcapng")
    save_session(out, [_capture(tmp_path)], Store(), info=SessionInfo.new(region="DE"))
    assert recorded_region(out) == "DE"
    packed = tmp_path / "s.pcapng.gz"
    packed.write_bytes(gzip.compress(Path(out).read_bytes()))
    assert recorded_region(str(packed)) == "DE"


def test_a_region_that_is_not_a_region_code_is_given_as_written(tmp_path: Path) -> None:
    # The caller says it is not used: passed over here, it was not said at all.
    unknown = tmp_path / "unknown.jsonl"
    unknown.write_bytes(info_line(SessionInfo.new(region="ZZ")) + RECORD)
    assert recorded_region(str(unknown)) == "ZZ"


def test_files_that_record_no_region_give_none(tmp_path: Path) -> None:
    none = tmp_path / "none.jsonl"
    none.write_bytes(info_line(SessionInfo.new(region="")) + RECORD)
    records = tmp_path / "records.jsonl"
    records.write_bytes(RECORD)
    plain = tmp_path / "plain.pcapng"
    save_session(str(plain), [_capture(tmp_path)], Store(), info=SessionInfo.new())
    for path in (none, records, plain, _capture(tmp_path), tmp_path / "gone", "-"):
        assert recorded_region(str(path)) is None, path


def test_a_fifo_is_not_looked_into(tmp_path: Path) -> None:
    # Its reader would miss the bytes looked at (and the look would wait for a writer).
    fifo = str(tmp_path / "proxy.fifo")
    os.mkfifo(fifo)
    assert recorded_region(fifo) is None
