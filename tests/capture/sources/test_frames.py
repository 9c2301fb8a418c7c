"""Capture files and streams: formats, compression, stdin, damage."""

from __future__ import annotations

import gzip
import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capture.sources.frames import CaptureError, CaptureFile, bad_timestamps
from tests.helpers import OK, conversation, save, simple_request


def _frames() -> list[tuple[float, bytes]]:
    conv = conversation()
    return (
        conv.handshake() + conv.send(True, simple_request()) + conv.send(False, OK) + conv.close()
    )


def test_pcap_frames_have_timestamps_and_linktype(tmp_path: Path) -> None:
    frames = _frames()
    path = save(tmp_path, frames)
    got = list(CaptureFile(path))
    assert [f.data for f in got] == [d for _, d in frames]
    assert got[0].linktype == 1
    assert got[0].ts == pytest.approx(frames[0][0], abs=1e-6)


def test_gzip_compressed_pcap(tmp_path: Path) -> None:
    path = save(tmp_path, _frames())
    gz = tmp_path / "t.pcap.gz"
    gz.write_bytes(gzip.compress(Path(path).read_bytes()))
    assert len(list(CaptureFile(str(gz)))) == len(_frames())


def test_pcapng_from_the_corpus_reads(pcaps_dir: Path) -> None:
    capture = CaptureFile(str(pcaps_dir / "zeek/cooper-grill-dvwa.pcapng"))
    frames = list(capture)
    assert len(frames) == 64 and not capture.truncated
    assert frames[0].ts > 1e9


def test_gzip_from_the_corpus_reads(pcaps_dir: Path) -> None:
    capture = CaptureFile(str(pcaps_dir / "zeek/1000-requests-one-dropped-response.pcap.gz"))
    assert len(list(capture)) == 4102


@pytest.mark.parametrize("cut", [1, 16, 60, 69])
def test_truncated_pcap_yields_frames_before_the_cut(tmp_path: Path, cut: int) -> None:
    """Cut inside the last record (70 bytes: 16 of header, 54 of frame)."""
    frames = _frames()
    assert len(frames[-1][1]) == 54
    data = Path(save(tmp_path, frames)).read_bytes()
    (tmp_path / "cut.pcap").write_bytes(data[:-cut])
    capture = CaptureFile(str(tmp_path / "cut.pcap"))
    got = list(capture)
    assert capture.truncated
    assert [f.data for f in got] == [d for _, d in frames[:-1]]


def test_pcapng_cut_inside_a_block_is_truncated(pcaps_dir: Path, tmp_path: Path) -> None:
    data = (pcaps_dir / "zeek/cooper-grill-dvwa.pcapng").read_bytes()
    (tmp_path / "cut.pcapng").write_bytes(data[: len(data) // 2])
    capture = CaptureFile(str(tmp_path / "cut.pcapng"))
    frames = list(capture)
    assert capture.truncated and 0 < len(frames) < 64


def test_whole_pcap_is_not_truncated(tmp_path: Path) -> None:
    capture = CaptureFile(save(tmp_path, _frames()))
    list(capture)
    assert not capture.truncated


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"hello, this is text\n", "not a pcap or pcapng file"),
        (b"\xd4\xc3\xb2\xa1\x02\x00", "damaged capture header"),
        (b"\x1f\x8b\x08\x00garbage", "not a readable capture"),
    ],
)
def test_foreign_files_are_one_line_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.pcap"
    path.write_bytes(content)
    with pytest.raises(CaptureError, match=message) as info:
        CaptureFile(str(path))
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="no such file"):
        CaptureFile(str(tmp_path / "nope.pcap"))
    with pytest.raises(CaptureError, match="is a directory"):
        CaptureFile(str(tmp_path))


def test_permission_error_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Root reads everything, so the OS refusal is simulated where open() is called."""
    import builtins

    real_open = builtins.open

    def refusing_open(path: object, *args: object, **kwargs: object) -> object:
        if str(path).endswith("secret.pcap"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(builtins, "open", refusing_open)
    with pytest.raises(CaptureError, match=r"secret.pcap: permission denied"):
        CaptureFile(str(tmp_path / "secret.pcap"))


@pytest.mark.parametrize("compress", [False, True])
def test_stdin_stream(tmp_path: Path, compress: bool) -> None:
    """A pcap arriving on a pipe (never seekable), plain or gzipped."""
    data = Path(save(tmp_path, _frames())).read_bytes()
    if compress:
        data = gzip.compress(data)
    code = "from capture.sources.frames import CaptureFile\nprint(len(list(CaptureFile('-'))))"
    out = subprocess.run([sys.executable, "-c", code], input=data, capture_output=True, check=True)
    assert out.stdout.strip() == str(len(_frames())).encode()


def test_stdin_stream_is_processed_as_it_arrives(tmp_path: Path) -> None:
    """Frames come out before the writer closes the pipe (curl -N | headerwatch scan -)."""
    data = Path(save(tmp_path, _frames())).read_bytes()
    code = (
        "import sys\nfrom capture.sources.frames import CaptureFile\n"
        "for f in CaptureFile('-'):\n    print(len(f.data), flush=True)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert proc.stdin is not None and proc.stdout is not None
    first_record_end = 24 + 16 + len(_frames()[0][1])
    proc.stdin.write(data[:first_record_end])
    proc.stdin.flush()
    line = proc.stdout.readline()  # arrives while stdin is still open
    assert int(line) == len(_frames()[0][1])
    proc.stdin.write(data[first_record_end:])
    proc.stdin.close()
    rest = proc.stdout.read().split()
    assert len(rest) == len(_frames()) - 1
    proc.wait(timeout=10)


def test_tcpdump_written_capture_reads(tmp_path: Path) -> None:
    """A file written by another tool (the corpus ones are); copies keep working."""
    src = Path(__file__).resolve().parents[3] / "capture" / "data" / "demo-o2-2012.pcap"
    dst = tmp_path / "copy.pcap"
    shutil.copy(src, dst)
    assert len(list(CaptureFile(str(dst)))) > 100


def test_a_pcap_scan_does_not_load_scapy(tmp_path: Path) -> None:
    """Classic pcap is read without scapy: importing it costs a scan 0.2 s and 33 MB."""
    path = save(tmp_path, _frames())
    code = (
        "import sys\nfrom capture.scan import scan\n"
        f"scan([{path!r}])\nprint('scapy' in sys.modules, file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, text=True)
    assert out.stderr.splitlines()[-1] == "False"


def test_the_out_of_range_timestamp_warning_counts_one_frame_in_the_singular() -> None:
    assert bad_timestamps("x.pcapng", 1).endswith(
        "x.pcapng: 1 frame had a timestamp out of range, shown as 1970-01-01 or 2106-02-07"
    )


@settings(max_examples=200, deadline=None)
@given(
    first=st.binary(max_size=64),
    inner=st.binary(max_size=64),
    sizes=st.lists(st.tuples(st.booleans(), st.integers(-1, 20)), max_size=20),
)
def test_bytes_put_back_in_front_read_as_the_stream_they_came_from(
    first: bytes, inner: bytes, sizes: list[tuple[bool, int]]
) -> None:
    """_Joined reads by position (slicing off what was read made 200,000 small pcapng
    blocks quadratic): any mix of read and read1 gives the bytes in order."""
    from capture.sources.frames import _Joined

    joined = _Joined(first, io.BytesIO(inner))
    got = b""
    for whole, size in sizes:
        got += joined.read(size) if whole else joined.read1(size)
    before, rest = joined.taken_apart(b"")
    assert got + before + rest.read() == first + inner
