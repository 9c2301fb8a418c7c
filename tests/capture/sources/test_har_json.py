"""A HAR's JSON read whole, with lone surrogates, or up to where it was cut."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import orjson
import pytest

from capture.sources.har_json import REPLACEMENT, HarJsonError, load_har

HARS = Path(__file__).resolve().parents[2] / "data" / "har"


def test_a_whole_document_is_what_orjson_reads() -> None:
    data = (HARS / "chrome51.har").read_bytes()
    read = load_har(data)
    assert read.doc == orjson.loads(data)
    assert read.cut is None and read.lone_surrogates == 0


@pytest.mark.parametrize("name", ["firefox47.har", "charles42-form.har"])
def test_a_document_cut_anywhere_gives_whole_entries_only_and_in_order(name: str) -> None:
    """Cut at every one of a few hundred places: whatever is read is the first entries
    of the whole document, each equal to its whole self; a cut before the first entry
    ends is an error saying the document may be cut short."""
    data = (HARS / name).read_bytes()
    entries = orjson.loads(data)["log"]["entries"]
    step = max(1, len(data) // 400)
    read_some = 0
    for end in range(0, len(data) - 1, step):
        try:
            read = load_har(data[:end])
        except HarJsonError as exc:
            assert str(exc).startswith("cut short? not JSON: ")
            continue
        got = read.doc["log"]["entries"]
        assert read.cut is not None and read.cut.startswith("its JSON ends unfinished at line ")
        assert got == entries[: len(got)] and 0 < len(got) <= len(entries)
        read_some += 1
    assert read_some > 0


def test_what_comes_before_the_entries_is_kept_when_whole() -> None:
    data = (HARS / "firefox47.har").read_bytes()
    whole = orjson.loads(data)["log"]
    cut = load_har(data[: len(data) - 100]).doc["log"]
    assert cut["creator"] == whole["creator"] and cut["version"] == whole["version"]


def test_a_document_broken_inside_gives_only_entries_it_left_whole_and_says_where() -> None:
    """Bytes that break the JSON inside may first alter the entry before where it
    stops being JSON and leave it JSON (a "}" that closes an entry early: an outside
    tester had a request read without its headers): that entry and the broken one are
    left out, the others read, and the damage named."""
    data = (HARS / "chrome51.har").read_bytes()
    whole = orjson.loads(data)["log"]["entries"]
    middle = data.index(b'"startedDateTime"', len(data) // 2)
    for broken in (data[:middle] + b"}}}" + data[middle:], data[:middle] + b"}" + data[middle:]):
        read = load_har(broken)
        entries = read.doc["log"]["entries"]
        assert 0 < len(entries) < len(whole)
        assert _in_order(entries, whole)
        assert read.damage is not None and read.damage.startswith("not JSON: ")
        assert "are not read, as the damage may have altered them" in read.damage


def _in_order(read: list[Any], whole: list[Any]) -> bool:
    """Is every entry of ``read`` one of ``whole``, unaltered and in its order?"""
    rest = iter(whole)
    return all(any(entry == original for original in rest) for entry in read)


_DAMAGES = {
    "a stray }": lambda d, i: d[:i] + b"}" + d[i:],
    "a stray {": lambda d, i: d[:i] + b"{" + d[i:],
    'a stray "]}}"': lambda d, i: d[:i] + b"]}}" + d[i:],
    "a stray ]": lambda d, i: d[:i] + b"]" + d[i:],
    'a stray "': lambda d, i: d[:i] + b'"' + d[i:],
    "a byte lost": lambda d, i: d[:i] + d[i + 1 :],
    "a byte not UTF-8": lambda d, i: d[:i] + b"\xff" + d[i:],
    "a zeroed run": lambda d, i: d[:i] + b"\0" * 7 + d[i + 7 :],
}


def _damage_har(pretty: bool) -> bytes:
    """A HAR of 7 distinct entries, its members in the order Chrome writes them (sorted:
    objects before startedDateTime and request), laid out in lines as browsers write
    it, or on one line."""
    entries = [
        {
            "_initiator": {"type": "other"},
            "cache": {},
            "pageref": "page_1",
            "request": {
                "method": "GET",
                "url": f"http://e{n}.example/?q={n}",
                "headers": [{"name": "X-N", "value": str(n)}, {"name": "X-M", "value": "m"}],
            },
            "response": {"status": 200, "headers": [{"name": "Via", "value": "1.1 a"}]},
            "startedDateTime": f"2024-01-0{n}T00:00:00Z",
            "timings": {"send": n},
        }
        for n in range(1, 8)
    ]
    doc = {"log": {"version": "1.2", "creator": {"name": "t"}, "entries": entries}}
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2 if pretty else 0)


_BALANCED = {"a stray }", "a stray ]", 'a stray "]}}"', 'a stray "', "a byte not UTF-8"}
"""Damage after which reading starts again at the next entry: brackets closed, or a
quote or a byte that is no UTF-8 in a line. After a "{" too many (added, or a "}"
lost) nothing more is taken as an entry: one could be an entry with its start cut off."""


@pytest.mark.parametrize("pretty", [True, False], ids=["in lines", "on one line"])
@pytest.mark.parametrize("damage", list(_DAMAGES))
def test_damage_anywhere_inside_never_gives_an_altered_entry(damage: str, pretty: bool) -> None:
    """At every 5th byte of a HAR of distinct entries: whatever is read is entries as
    written, in their order; in a HAR laid out in lines, as browsers write it, damage
    of :data:`_BALANCED` inside the entries loses at most the three about it."""
    data = _damage_har(pretty)
    whole = orjson.loads(data)["log"]["entries"]
    first = data.index(b'"entries"') + 12
    last = data.rindex(b"]")
    for at in range(first, last, 5):
        broken = _DAMAGES[damage](data, at)
        with contextlib.suppress(orjson.JSONDecodeError):
            orjson.loads(broken)
            continue  # still JSON (a "}" inside a string): nothing says it was damaged
        try:
            read = load_har(broken)
        except HarJsonError:
            continue  # nothing left to read: refused whole, which alters nothing
        got = read.doc["log"]["entries"]
        assert _in_order(got, whole), (at, got)
        if pretty and damage in _BALANCED:
            assert len(got) >= len(whole) - 3, (at, len(got))


@pytest.mark.parametrize("after", [b"\n}", b"\n" + b"\0" * 1000 + b"{}", b'{"log":{}}'])
def test_a_whole_document_with_bytes_after_it_gives_all_its_entries_and_says_so(
    after: bytes,
) -> None:
    data = (HARS / "firefox47.har").read_bytes()
    read = load_har(data.rstrip() + after)
    assert read.doc["log"]["entries"] == orjson.loads(data)["log"]["entries"]
    assert read.damage is not None and read.damage.startswith("more after the document")


def test_lone_surrogates_in_values_and_keys_are_replaced_and_counted() -> None:
    text = (
        '{"log": {"creator": {"name": "x\\ud800"}, "entries": [{"a\\udfff": 1, "b": 2,'
        ' "c": ["\\ud83d\\ude00", "\\ude00"]}]}}'
    )
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(text)
    read = load_har(text.encode())
    assert read.lone_surrogates == 3
    entry = read.doc["log"]["entries"][0]
    assert list(entry) == [f"a{REPLACEMENT}", "b", "c"]  # the renamed key keeps its place
    assert entry["c"] == ["\U0001f600", REPLACEMENT]  # a whole pair is one character
    assert read.doc["log"]["creator"]["name"] == f"x{REPLACEMENT}"


def test_a_document_cut_inside_a_character_is_cut_short() -> None:
    entry = '{"request": {"url": "http://a.example/é"}}'.encode()
    read = load_har(b'{"log": {"entries": [' + entry + b", " + entry[:-4])
    assert read.cut is not None and len(read.doc["log"]["entries"]) == 1


def test_a_document_cut_after_a_lone_surrogate_gives_its_entries_replaced() -> None:
    entry = '{"request": {"url": "http://a.example/\\udc80"}}'
    text = '{"log": {"entries": [' + entry + ", " + entry[:20]
    read = load_har(text.encode())
    assert read.cut is not None and read.lone_surrogates == 1
    assert read.doc["log"]["entries"] == [{"request": {"url": f"http://a.example/{REPLACEMENT}"}}]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"[1, 2",
        b'{"log": ',
        b'{"log": {"entries": [',
        b'{"log": {"entries": {"a": 1',
        b'{"log": {"creator": {"name": "x"',
        b'{"log": {"entries": [{"a": "\xff"}, {',
        b"[" * 100_000,
        b'{"log": {"entries": [' + b"[" * 100_000,
    ],
)
def test_what_holds_no_whole_entry_is_an_error(data: bytes) -> None:
    with pytest.raises(HarJsonError):
        load_har(data)


@pytest.mark.parametrize(
    "text",
    [
        '{"log": {"entries": [{"t": NaN}]}}',
        '{"log": {"entries": [{"t": 1' + "0" * 5000 + "}]}}",
    ],
    ids=["NaN", "5,000 digits"],
)
def test_what_orjson_refuses_python_refuses_too_in_one_error(text: str) -> None:
    """NaN and a number infinite as a double: refused as orjson refuses them, not read
    by the fallback (a 5,000-digit integer raised Python's own ValueError)."""
    with pytest.raises(HarJsonError):
        load_har(text.encode())


def _har_of(entries: list[str], lead: str = "") -> tuple[str, list[int]]:
    """A HAR text of the entries' JSON texts, and where each entry ends in it."""
    head = '{"log": {"version": "1.2", "creator": {"name": "t' + lead + '"}, "entries": ['
    text, ends = head, []
    for i, entry in enumerate(entries):
        text += (", " if i else "") + entry
        ends.append(len(text))
    return text + "]}}", ends


_ENTRY = (
    '{"request": {"url": "http://a.example/caf\\u00e9?q=\\u00e9", "n": -12.5, "big": 1e3,'
    ' "ok": true, "no": false, "none": null, "list": [1, -2, 3.25]}}'
)


@pytest.mark.parametrize("lead", ["", "\\ud800"], ids=["plain", "a lone surrogate first"])
def test_a_har_cut_at_any_byte_gives_exactly_its_entries_whole_before_the_cut(lead: str) -> None:
    """Cut inside an escape, a number, true/false/null, between entries: every entry
    whole before the cut is read, and none other (before, a cut in an escape or a
    literal lost them all: Python's parser says where the token starts)."""
    text, ends = _har_of([_ENTRY] * 3, lead)
    data = text.encode()
    for cut in range(ends[0] - 5, len(data) - 3):
        whole = sum(1 for end in ends if end <= cut)
        if whole == 0:
            with pytest.raises(HarJsonError):
                load_har(data[:cut])
            continue
        read = load_har(data[:cut])
        assert len(read.doc["log"]["entries"]) == whole, data[:cut][-20:]


def test_an_entry_as_deep_as_orjson_reads_is_read_in_a_cut_har_and_one_deeper_refused() -> None:
    deep = '{"x": ' + "[" * 1000 + "]" * 1000 + "}"
    text, ends = _har_of([_ENTRY, deep, _ENTRY, _ENTRY])
    read = load_har(text.encode()[: ends[3] - 10])
    assert len(read.doc["log"]["entries"]) == 3  # the deep one whole, as orjson reads it
    # Deeper than orjson reads whole, and cut there: damage, as it would be in a whole
    # document, and the entries before it are not shaped as HAR entries (no
    # startedDateTime) for one to be told from an entry's inner object: refused.
    too_deep = '{"x": ' + "[" * 100_000 + "}"
    text, _ = _har_of([_ENTRY, _ENTRY, too_deep])
    with pytest.raises(HarJsonError, match="depth limit exceeded"):
        load_har(text.encode()[:-100])


def test_a_har_padded_with_zeros_after_a_crash_is_read_as_far_as_it_was_written() -> None:
    text, ends = _har_of([_ENTRY] * 3)
    assert len(load_har(text.encode() + b"\0" * 4096).doc["log"]["entries"]) == 3
    read = load_har(text.encode()[: ends[1] + 3] + b"\0" * 4096)
    assert read.cut is not None and len(read.doc["log"]["entries"]) == 2


def test_many_keys_with_lone_surrogates_are_each_replaced_in_one_pass() -> None:
    keys = ", ".join(f'"\\ud800{i}": {i}' for i in range(3000))
    text, _ = _har_of(['{"_k": {' + keys + "}}"])
    read = load_har(text.encode())
    assert read.lone_surrogates == 3000
    assert list(read.doc["log"]["entries"][0]["_k"])[:2] == [f"{REPLACEMENT}0", f"{REPLACEMENT}1"]


def test_a_scan_of_a_damaged_har_reports_the_entries_before_and_warns_where(
    tmp_path: Path,
) -> None:
    import io

    from capture.identity.detector import IdentityDetector
    from capture.scan import scan

    data = (HARS / "firefox47.har").read_bytes()
    path = tmp_path / "two.har"
    path.write_bytes(data + data)  # two documents joined, as `cat` makes them
    out, err = io.StringIO(), io.StringIO()
    assert scan([str(path)], detector=IdentityDetector(), out=out, err=err) == 0
    entries = len(orjson.loads(data)["log"]["entries"])
    assert len(out.getvalue().splitlines()) == entries
    assert f"headerwatch: warning: {path}: damaged (more after the document, from line " in (
        err.getvalue()
    )
    assert "every entry before that is reported" in err.getvalue()


def test_a_har_that_is_not_utf8_says_so_and_where() -> None:
    """orjson's words, "str is not valid UTF-8: surrogates not allowed at line 1,
    column 1", named neither the cause nor the place."""
    data = '{"log": {\n"creator": "caf\u00e9",\n"entries": []}}'.encode("latin-1")
    with pytest.raises(HarJsonError) as caught:
        load_har(data)
    assert str(caught.value) == "not UTF-8 text: byte 0xe9 at line 2, offset 25; JSON is UTF-8"


def test_a_scan_of_a_har_damaged_inside_reports_the_entries_it_left_whole_and_warns_where(
    tmp_path: Path,
) -> None:
    import io

    from capture.identity.detector import IdentityDetector
    from capture.scan import scan

    data = (HARS / "chrome51.har").read_bytes()
    middle = data.index(b'"method"', len(data) // 2)
    path = tmp_path / "damaged.har"
    path.write_bytes(data[:middle] + data[middle + 1 :])  # a quote lost
    out, err = io.StringIO(), io.StringIO()
    assert scan([str(path)], detector=IdentityDetector(), out=out, err=err) == 0
    entries = len(orjson.loads(data)["log"]["entries"])
    assert len(out.getvalue().splitlines()) == entries - 2
    said = err.getvalue()
    assert f"headerwatch: warning: {path}: damaged (not JSON: " in said
    assert "are not read, as the damage may have altered them; every other entry is reported)" in (
        said
    )


def test_damage_before_the_entries_loses_what_precedes_them_not_the_entries() -> None:
    data = (HARS / "chrome51.har").read_bytes()
    whole = orjson.loads(data)["log"]
    at = data.index(b'"pages"') + 20  # inside the pages, before the entries
    for broken in (data[:at] + b"}" + data[at:], data[:at] + b"\xff" + data[at:]):
        read = load_har(broken)
        log = read.doc["log"]
        assert log["entries"] == whole["entries"]
        assert log["version"] == whole["version"] and log["creator"] == whole["creator"]
        assert read.damage is not None
        assert "; what comes before its entries (lines 1-37) is not read; every other" in (
            read.damage
        )
    # A "log" the damage left as something else than an object: its entries still.
    odd = b'{"log": "v", } "entries": [{"startedDateTime": "2024-01-01T00:00:00Z", "request": {}}]}'
    assert len(load_har(odd).doc["log"]["entries"]) == 1
