"""A HAR's JSON read whole, with lone surrogates, or up to where it was cut."""

from __future__ import annotations

import json
from pathlib import Path

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


def test_a_document_broken_inside_is_not_read_as_cut() -> None:
    """Only a document that ends at its error was cut; one with an error inside is
    damaged some other way, and no part of it is taken as whole."""
    data = (HARS / "firefox47.har").read_bytes()
    middle = data.index(b'"startedDateTime"', len(data) // 2)
    broken = data[:middle] + b"}}}" + data[middle:]
    with pytest.raises(HarJsonError) as caught:
        load_har(broken)
    assert not str(caught.value).startswith("cut short?")


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


def test_a_document_of_python_json_only_that_is_not_a_har_is_left_to_the_caller() -> None:
    """NaN, which orjson refuses and Python's parser takes: the tree is returned, and
    the reader says what it is not (har_input.har_log)."""
    assert json.loads("[NaN]")
    assert load_har(b"[NaN]").doc[0] != 0
