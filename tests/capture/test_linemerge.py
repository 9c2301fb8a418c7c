"""A split scan's lines merged and renumbered: the reference
(``capture.linemerge.merge_lines_py``) against heapq.merge of the lines, read in pieces
of any size, and the C one (``capture/_linemerge.c``) against the reference, on damaged
input too.
"""

from __future__ import annotations

import heapq

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capture import linemerge
from capture.formats.jsonl import ID_KEY
from capture.linemerge import MergeLines as Merge
from capture.linemerge import merge_lines_c, merge_lines_py
from capture.scan_jobs import ID_DIGITS, KEY, SKIPPED, TRAILER

needs_c = pytest.mark.skipif(merge_lines_c is None, reason="capture._linemerge is not built")


def _line(key: int, process_id: int, skipped: bool = False, text: bytes = b"x") -> bytes:
    """A line as a process writes it: order key, then its JSON (or SKIPPED)."""
    head = b"%0*x" % (KEY, key)
    if skipped:
        return head + SKIPPED
    return head + b'{"a":"' + text + b'"' + ID_KEY + b"%d" % process_id + b',"b":1}\n'


@st.composite
def _outputs(draw: st.DrawFn) -> list[list[bytes]]:
    """Two to four processes' lines: keys in order within each (equal keys across them
    too), some skipped, ids text inside the JSON, then each one's trailer."""
    outputs = []
    for _ in range(draw(st.integers(1, 4))):
        keys = sorted(draw(st.lists(st.integers(0, 40), max_size=12)))
        lines = []
        for n, key in enumerate(keys):
            text = draw(st.sampled_from([b"x", b'\\",\\"id\\":7', b"", b"~\\n"]))
            lines.append(_line(key, 10**15 + n, draw(st.booleans()), text))
        lines.append(TRAILER + b'{"n":%d}\n' % draw(st.integers(0, 3)))
        outputs.append(lines)
    return outputs


def _expected(outputs: list[list[bytes]]) -> tuple[bytes, int, list[bytes]]:
    """What the parent wrote before merge_lines: heapq.merge of the lines, renumbered."""
    out, record_id, trailers = [], 0, []
    for line in heapq.merge(*outputs):
        if line.startswith(TRAILER):
            trailers.append(line[1:])
            continue
        record_id += 1
        if line[KEY:] == SKIPPED:
            continue
        cut = line.rindex(ID_KEY) + len(ID_KEY)
        out.append(line[KEY:cut] + b"%d" % record_id + line[cut + ID_DIGITS :])
    return b"".join(out), record_id, trailers


def _run(merge: Merge, streams: list[bytes], sizes: list[int]) -> tuple[bytes, int, list[bytes]]:
    """merge_lines driven as the parent drives it, each read giving the next of
    ``sizes`` bytes (in turn) of the process that ran out."""
    count = len(streams)
    parts, starts, ended = [b""] * count, [0] * count, [False] * count
    taken, record_id, trailers, out = [0] * count, 0, [], []
    reads = 0
    while True:
        merged, record_id, stalled = merge(parts, starts, ended, record_id, trailers)
        out.append(merged)
        if stalled < 0:
            return b"".join(out), record_id, trailers
        size = sizes[reads % len(sizes)]
        reads += 1
        data = streams[stalled][taken[stalled] : taken[stalled] + size]
        taken[stalled] += len(data)
        if data:
            parts[stalled] = parts[stalled][starts[stalled] :] + data
            starts[stalled] = 0
        else:
            ended[stalled] = True


_merges = [merge_lines_py] + ([merge_lines_c] if merge_lines_c is not None else [])


@settings(max_examples=400)
@given(_outputs(), st.lists(st.integers(1, 300), min_size=1, max_size=5))
def test_the_merge_writes_what_heapq_merge_of_the_lines_wrote(
    outputs: list[list[bytes]], sizes: list[int]
) -> None:
    expected = _expected(outputs)
    for merge in _merges:
        assert _run(merge, [b"".join(lines) for lines in outputs], sizes) == expected


def test_an_ended_process_last_bytes_are_a_line_without_a_newline() -> None:
    parts = [_line(1, 10**15)[:-1], _line(2, 10**15)]
    for merge in _merges:
        starts = [0, 0]
        trailers: list[bytes] = []
        out, record_id, stalled = merge(list(parts), starts, [True, True], 0, trailers)
        assert (record_id, stalled, starts) == (2, -1, [len(parts[0]), len(parts[1])])
        assert out == _line(1, 1)[KEY:-1] + _line(2, 2)[KEY:]


def test_a_process_without_a_whole_line_stops_the_merge_until_it_is_read() -> None:
    parts = [_line(1, 10**15) + _line(5, 10**15 + 1), _line(3, 10**15)[:30]]
    for merge in _merges:
        starts = [0, 0]
        out, record_id, stalled = merge(list(parts), starts, [False, False], 0, [])
        assert (out, record_id, stalled, starts) == (b"", 0, 1, [0, 0])


@needs_c
def test_the_c_merge_knows_the_line_format_of_the_reference() -> None:
    import capture._linemerge as c

    assert (c.KEY, c.ID_DIGITS, c.ID_KEY) == (KEY, ID_DIGITS, ID_KEY)
    assert (bytes([c.TRAILER]), bytes([c.SKIPPED])) == (TRAILER, SKIPPED[:1])
    assert linemerge.merge_lines is merge_lines_c


def _answer(
    merge: Merge, parts: list[bytes], starts: list[int], ended: list[bool], record_id: int
) -> object:
    trailers: list[bytes] = []
    starts = list(starts)
    try:
        return merge(list(parts), starts, list(ended), record_id, trailers), starts, trailers
    except (IndexError, ValueError, OverflowError) as exc:
        return type(exc)


_bytes = st.binary(max_size=120) | st.lists(
    st.sampled_from([b"\n", b"~", b"-", b",", ID_KEY, b"0" * KEY, b"9" * ID_DIGITS, b"a"]),
    max_size=20,
).map(b"".join)


@needs_c
@settings(max_examples=3000)
@given(
    st.lists(_bytes, min_size=0, max_size=4),
    st.data(),
    st.integers(0, 10**18 + 5),
)
def test_the_c_merge_answers_as_the_reference_on_any_bytes(
    parts: list[bytes], data: st.DataObject, record_id: int
) -> None:
    assert merge_lines_c is not None
    starts = [data.draw(st.integers(-2, len(part) + 2)) for part in parts]
    ended = [data.draw(st.booleans()) for _ in parts]
    assert _answer(merge_lines_c, parts, starts, ended, record_id) == _answer(
        merge_lines_py, parts, starts, ended, record_id
    )


@needs_c
@settings(max_examples=2000)
@given(_outputs(), st.data())
def test_the_c_merge_answers_as_the_reference_on_damaged_lines(
    outputs: list[list[bytes]], data: st.DataObject
) -> None:
    assert merge_lines_c is not None
    parts = []
    for lines in outputs:
        part = bytearray(b"".join(lines))
        for _ in range(data.draw(st.integers(0, 3))):
            if not part:
                break
            at = data.draw(st.integers(0, len(part) - 1))
            cut = data.draw(st.sampled_from(("byte", "truncate", "delete", "newline")))
            if cut == "byte":
                part[at] = data.draw(st.integers(0, 255))
            elif cut == "truncate":
                del part[at:]
            elif cut == "delete":
                del part[at]
            else:
                part.insert(at, 0x0A)
        parts.append(bytes(part))
    ended = [data.draw(st.booleans()) for _ in parts]
    starts = [0] * len(parts)
    assert _answer(merge_lines_c, parts, starts, ended, 0) == _answer(
        merge_lines_py, parts, starts, ended, 0
    )


@needs_c
def test_the_c_merge_refuses_what_is_not_its_arguments() -> None:
    assert merge_lines_c is not None
    with pytest.raises(TypeError):
        merge_lines_c([b""], [0], [False], 0)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        merge_lines_c([bytearray(b"")], [0], [False], 0, [])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        merge_lines_c([b""], [0], [1], 0, [])  # type: ignore[list-item]
    with pytest.raises(ValueError):
        merge_lines_c([b""], [0, 0], [False], 0, [])
    with pytest.raises(OverflowError):
        merge_lines_c([b""], [0], [False], -1, [])
