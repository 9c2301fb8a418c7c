"""The store: ordered, bounded, fed by event batches, filtered without re-parsing."""

from __future__ import annotations

import pytest

from capture.model import Notice, RequestSeen, ResponseSeen, StatsSnapshot
from capture.pipeline import Pipeline
from capture.view.filter import compile_filter
from capture.view.store import Entry, Store
from tests.capture.factories import FakeDetector, record, response
from tests.helpers import OK, conversation, simple_request


def test_add_get_len_iter_in_id_order() -> None:
    store = Store()
    for i in (1, 2, 3):
        entry = store.add(record(i))
        assert isinstance(entry, Entry) and entry.id == i
    assert len(store) == 3 and [e.id for e in store] == [1, 2, 3]
    assert store.get(2) is not None and store.get(9) is None
    assert 2 in store and 9 not in store


def test_reversed_and_after_walk_from_the_newest_end() -> None:
    store = Store()
    for i in (1, 2, 3, 4):
        store.add(record(i))
    assert [e.id for e in reversed(store)] == [4, 3, 2, 1]
    assert [e.id for e in store.after(2)] == [3, 4]
    assert store.after(4) == [] and [e.id for e in store.after(0)] == [1, 2, 3, 4]


def test_late_record_is_inserted_in_order() -> None:
    store = Store()
    for i in (1, 2, 5, 7, 3):
        store.add(record(i))
    assert [e.id for e in store] == [1, 2, 3, 5, 7]


def test_same_id_replaces_record_and_keeps_user_state() -> None:
    store = Store()
    store.add(record(1))
    store.mark(1)
    store.set_comment(1, "seen at the cafe")
    entry = store.add(record(1, uri="/other"))
    assert len(store) == 1 and entry.marked and entry.comment == "seen at the cafe"
    assert entry.record.request.uri == "/other"


def test_set_response_replaces_the_frozen_record() -> None:
    store = Store()
    original = store.add(record(1)).record
    entry = store.set_response(1, response(404))
    assert entry is not None and entry.record.response is not None
    assert entry.record.response.status == 404
    assert original.response is None  # records are immutable; the entry moved on
    assert store.set_response(99, response()) is None


def test_apply_returns_changed_entries_once_in_order() -> None:
    store = Store()
    changed = store.apply(
        [
            RequestSeen(record(1)),
            RequestSeen(record(2)),
            ResponseSeen(1, response()),
            Notice("warning", "ignored"),
            ResponseSeen(42, response()),  # unknown record: ignored
            StatsSnapshot((("packets", 3),)),
        ]
    )
    assert [e.id for e in changed] == [1, 2]
    assert changed[0].record.response is not None
    changed = store.apply([ResponseSeen(2, response(500))])
    assert [e.id for e in changed] == [2]


def test_bound_evicts_oldest_first_and_counts() -> None:
    store = Store(max_records=3)
    changed = store.apply([RequestSeen(record(i)) for i in range(1, 6)])
    assert [e.id for e in store] == [3, 4, 5]
    assert store.evicted == 2
    assert [e.id for e in changed] == [3, 4, 5]  # evicted within the batch: not reported
    assert store.get(1) is None and store.set_response(1, response()) is None
    with pytest.raises(ValueError, match="at least 1"):
        Store(max_records=0)


def test_marks_and_comments() -> None:
    store = Store()
    store.add(record(1))
    store.add(record(2))
    assert store.toggle_mark(1) is not None and store.get(1).marked  # type: ignore[union-attr]
    store.toggle_mark(1)
    assert not store.get(1).marked  # type: ignore[union-attr]
    store.mark(2)
    store.set_comment(2, "injected by the proxy")
    assert store.filter(compile_filter("~marked")) == [2]
    assert store.filter(compile_filter("~comment proxy")) == [2]
    assert store.mark(9) is None and store.toggle_mark(9) is None
    assert store.set_comment(9, "x") is None


def test_clear_forgets_everything() -> None:
    store = Store(max_records=1)
    store.add(record(1))
    store.add(record(2))
    store.clear()
    assert len(store) == 0 and store.evicted == 0 and list(store) == []


def test_store_over_a_real_pipeline_run() -> None:
    """Events straight from the pipeline; filtering later does not touch the pipeline."""
    conv = conversation(ts=1326205331.0)
    frames = conv.handshake()
    frames += conv.send(
        True, simple_request("/a", "bbc.co.uk", "x-up-calling-line-id: 447700900123\r\n")
    )
    frames += conv.send(False, OK)
    frames += conv.send(True, simple_request("/b", "bbc.co.uk"))
    frames += conv.send(False, OK)
    frames += conv.close()
    from capture.sources.frames import Frame

    pipeline = Pipeline(detector=FakeDetector())
    store = Store()
    for ts, data in frames:
        store.apply(pipeline.feed(Frame(ts, 1, data)))
    store.apply(pipeline.flush())
    assert [e.id for e in store] == [1, 2]
    assert all(e.record.response is not None for e in store)
    assert store.filter(compile_filter("~id msisdn")) == [1]
    assert store.filter(compile_filter("~u /b$")) == [2]
