"""The store's bound in bytes: older entries spilled to disk, never lost."""

from __future__ import annotations

import gc
import os
import pickle
import stat
from pathlib import Path

import pytest

from capture.model import Event, Record, Request, RequestSeen, Response, ResponseSeen
from capture.view.order import sort_fields
from capture.view.store import Store, _Spill, record_size


def _record(rid: int) -> Record:
    request = Request(
        ts=1000.0 + rid,
        flow=rid,
        depth=1,
        src="10.0.0.1",
        sport=40000,
        dst="10.0.0.2",
        dport=80,
        method="GET",
        uri=f"/r/{rid}",
        version="HTTP/1.1",
        headers=(("Host", "example.com"), ("x-up-calling-line-id", "447700900123")),
    )
    return Record(rid, request)


def _store(tmp_path: Path, keep: int = 10) -> Store:
    return Store(max_bytes=keep * record_size(_record(1)), spill_dir=str(tmp_path))


def _filled(tmp_path: Path, count: int) -> Store:
    """A store of records 1 to ``count``, all but the newest few spilled."""
    store = _store(tmp_path)
    for rid in range(1, count + 1):
        store.add(_record(rid))
    return store


def test_older_entries_are_spilled_and_every_one_stays_retrievable(tmp_path: Path) -> None:
    store = _store(tmp_path)
    for rid in range(1, 101):
        store.add(_record(rid))
    assert store.spilled > 0
    assert store.bytes <= store.max_bytes  # type: ignore[operator]
    assert len(store) == 100 and store.evicted == 0
    assert [e.id for e in store] == list(range(1, 101))
    for rid in range(1, 101):
        entry = store.get(rid)
        assert entry is not None and entry.record == _record(rid)
        assert rid in store
    assert store.filter(lambda e: e.record.request.uri.endswith("7")) == list(range(7, 100, 10))


def test_the_spill_file_is_private_and_goes_with_the_store(tmp_path: Path) -> None:
    store = _store(tmp_path)
    for rid in range(1, 50):
        store.add(_record(rid))
    path = store.spill_path
    assert path is not None
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    store.close()
    assert not os.path.exists(os.path.dirname(path))


def test_marks_comments_and_responses_on_spilled_entries_are_kept(tmp_path: Path) -> None:
    store = _store(tmp_path)
    for rid in range(1, 60):
        store.add(_record(rid))
    assert 1 not in store._by_id  # spilled
    assert store.toggle_mark(1) is not None
    store.set_comment(2, "seen on the carrier's proxy")
    response = Response(1001.5, "HTTP/1.1", 200, "OK", (("Server", "x"),))
    store.apply([ResponseSeen(3, response)])
    first, second, third = (store.get(rid) for rid in (1, 2, 3))
    assert first is not None and first.marked
    assert second is not None and second.comment == "seen on the carrier's proxy"
    assert third is not None and third.record.response == response
    marked = [e.id for e in store if e.marked]
    assert marked == [1]


def test_apply_reports_entries_spilled_in_their_own_batch_so_the_view_can_show_them(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path)
    response = Response(1001.5, "HTTP/1.1", 200, "OK", (("Server", "x"),))
    events: list[Event] = [RequestSeen(_record(rid)) for rid in range(1, 301)]
    changed = store.apply([*events, ResponseSeen(2, response)])
    assert store.spilled > 250  # most of the batch went to disk within it
    assert [e.id for e in changed] == list(range(1, 301))
    # As the store holds them now: request 2's response came after it was spilled.
    assert changed[1].record.response == response
    assert all(e.record == _record(e.id) for e in changed if e.id != 2)
    # A response to a request spilled in an earlier batch is reported too: a filter
    # on the status lets it in late.
    later = store.apply([ResponseSeen(5, response)])
    assert [e.id for e in later] == [5] and later[0].record.response == response


def test_apply_leaves_out_entries_dropped_in_their_own_batch_where_nothing_can_spill(
    tmp_path: Path,
) -> None:
    store = Store(max_records=20, max_bytes=1, spill_dir=str(tmp_path / "missing"))
    changed = store.apply([RequestSeen(_record(rid)) for rid in range(1, 31)])
    assert store.spill_error and store.evicted == 10
    assert [e.id for e in changed] == list(range(11, 31))


def test_has_comment_answers_for_spilled_entries_without_reading_the_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _filled(tmp_path, 60)
    assert store.held(1) is None and store.held(60) is not None
    store.set_comment(1, "seen on the carrier's proxy")
    store.set_comment(60, "and here")
    store.set_comment(2, "a second thought")
    store.set_comment(2, "")  # taken back
    monkeypatch.setattr(_Spill, "read", lambda *_: pytest.fail("read the disk"))
    monkeypatch.setattr(_Spill, "_load", lambda *_: pytest.fail("read the disk"))
    assert [rid for rid in range(0, 62) if store.has_comment(rid)] == [1, 60]


def test_without_a_byte_bound_nothing_spills_and_the_count_bound_drops_counted() -> None:
    store = Store(max_records=5, max_bytes=None)
    for rid in range(1, 9):
        store.add(_record(rid))
    assert store.spilled == 0 and store.spill_path is None
    assert len(store) == 5 and store.evicted == 3


def test_where_no_spill_file_can_be_made_the_oldest_are_dropped_and_counted(
    tmp_path: Path,
) -> None:
    store = Store(max_records=20, max_bytes=1, spill_dir=str(tmp_path / "missing"))
    for rid in range(1, 31):
        store.add(_record(rid))
    assert store.spill_error
    assert len(store) == 20 and store.evicted == 10


def test_the_bytes_charged_never_go_negative_and_come_back_to_zero(tmp_path: Path) -> None:
    store = _store(tmp_path, keep=5)
    response = Response(1001.5, "HTTP/1.1", 200, "OK", (("Server", "x"),))
    for rid in range(1, 40):
        store.add(_record(rid))
        store.apply([ResponseSeen(rid, response), ResponseSeen(max(1, rid - 10), response)])
        store.add(_record(rid))  # the same id again: replaced, charged anew
        assert 0 <= store.bytes <= store.max_bytes  # type: ignore[operator]
        assert store.bytes == sum(record_size(e.record) for e in store._order)
    store.clear()
    assert store.bytes == 0 and len(store) == 0 and store.spill_path is None


def test_a_snapshot_reads_spilled_entries_only_as_it_goes_and_a_refilter_sees_them(
    tmp_path: Path,
) -> None:
    from capture.view.state import ViewState

    store = _filled(tmp_path, 60)
    snapshot = store.snapshot()
    assert len(snapshot) == 60 and snapshot.last_id == 60
    store.add(_record(61))  # the store goes on; the snapshot does not
    assert [e.id for e in snapshot] == list(range(1, 61))
    assert [e.id for e in snapshot] == list(range(1, 61))  # and reads again
    view = ViewState(store, "~u /r/1")
    job = view.start_refilter()
    assert job.run() == [1, *range(10, 20)]


def test_a_snapshot_finds_entries_by_id_spilled_or_held_and_held_never_reads_the_disk(
    tmp_path: Path,
) -> None:
    store = _filled(tmp_path, 60)
    snapshot = store.snapshot()
    store.add(_record(61))
    spilled = [rid for rid in range(1, 61) if store.held(rid) is None]
    assert spilled and len(spilled) == store.spilled and spilled[0] == 1
    for rid in range(1, 61):
        entry = snapshot.get(rid)
        assert entry is not None and entry.record == _record(rid)
        held = store.held(rid)
        assert held is None or held is entry  # the same entry, not a copy
    assert snapshot.get(61) is None and snapshot.get(0) is None  # not in the snapshot
    store.close()
    assert snapshot.get(1) is None  # the spill went with the store: nothing, no error


def test_a_store_dropped_without_close_leaves_no_spill_behind(tmp_path: Path) -> None:
    # A dashboard that ends on an exception, or a test, never calls close(): the
    # spilled requests (numbers and all) must not stay in the temporary directory.
    store = _store(tmp_path, keep=2)
    for i in range(1, 6):
        store.add(_record(i))
    directory = Path(store.spill_path or "").parent
    assert directory.is_dir()
    del store
    gc.collect()
    assert not directory.exists()


def test_sort_fields_of_spilled_rows_are_read_in_bulk_without_their_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _filled(tmp_path, 400)
    response = Response(1001.5, "HTTP/1.1", 404, "Not Found", ())
    store.apply([ResponseSeen(7, response)])  # a spilled entry written again, later on
    store.set_comment(8, "noted")
    wanted = [*range(1, 401), 999]  # 999: never stored, left out
    expected = {}
    for rid in wanted[:-1]:
        entry = store.get(rid)
        assert entry is not None
        expected[rid] = sort_fields(entry.record)
    assert store.spilled > 350 and expected[7][3] == 404
    reads: list[int] = []
    real_pread = os.pread

    def counted(fd: int, size: int, offset: int) -> bytes:
        reads.append(size)
        return real_pread(fd, size, offset)

    def no_record(*args: object, **kwargs: object) -> object:
        raise AssertionError("a record was read back to sort it")

    monkeypatch.setattr(os, "pread", counted)
    monkeypatch.setattr(pickle, "loads", no_record)
    assert store.sort_fields(wanted) == expected
    assert 1 <= len(reads) <= 2  # the copies together, the rewritten one beside them
