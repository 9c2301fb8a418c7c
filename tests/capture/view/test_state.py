"""The view's state without a widget: what the request list shows, and when."""

from __future__ import annotations

from capture.view.state import Predicate, SearchJob, ViewState, search_order
from capture.view.store import Store
from tests.capture.factories import finding, record, response


def _store(n: int, identity_every: int = 2) -> Store:
    store = Store()
    for i in range(1, n + 1):
        store.add(record(i, (finding(),) if i % identity_every == 0 else ()))
    return store


def _arrive_all(view: ViewState) -> list[int]:
    return view.arrive(list(view.store)).append


def test_new_entries_are_appended_when_they_pass_the_filter() -> None:
    view = ViewState(_store(6), "~id")
    assert _arrive_all(view) == [2, 4, 6]
    assert view.last_seen == 6 and view.history == ["~id"]


def test_while_paused_new_entries_are_counted_not_shown_and_resume_shows_them() -> None:
    store = _store(4)
    view = ViewState(store)
    _arrive_all(view)
    assert view.toggle_pause() == []
    store.add(record(5))
    store.add(record(6))
    arrived = view.arrive([e for e in store if e.record.id > 4])
    assert arrived.append == [] and view.new_while_paused == 2
    assert view.toggle_pause() == [5, 6]
    assert view.paused_at is None and view.new_while_paused == 0


def test_clear_hides_everything_so_far_but_the_store_keeps_it() -> None:
    store = _store(3)
    view = ViewState(store)
    _arrive_all(view)
    view.clear()
    job = view.start_refilter()
    assert view.finish_refilter(job, job.run()) == []
    assert len(store) == 3
    assert view.arrive([store.add(record(4))]).append == [4]


def test_undo_clear_goes_back_one_clear_point_at_a_time() -> None:
    store = _store(3)
    view = ViewState(store)
    _arrive_all(view)
    assert not view.undo_clear()  # nothing cleared yet
    view.clear()
    assert view.cleared == 3
    view.arrive([store.add(record(4))])
    view.clear()
    assert (view.floor, view.cleared) == (4, 4)
    assert [e.record.id for e in view.since_clear()] == []
    assert view.undo_clear() and (view.floor, view.cleared) == (3, 3)
    job = view.start_refilter()
    assert view.finish_refilter(job, job.run()) == [4]
    assert view.undo_clear() and (view.floor, view.cleared) == (0, 0)
    assert [e.record.id for e in view.since_clear()] == [1, 2, 3, 4]
    assert not view.undo_clear()


def test_a_deleted_request_leaves_the_view_and_undo_takes_back_deletes_and_clears_in_turn() -> None:
    store = _store(4)
    view = ViewState(store)
    _arrive_all(view)
    view.delete(2)
    view.delete(2)  # twice is once
    assert view.deleted_shown == 1 and [e.record.id for e in view.since_clear()] == [1, 3, 4]
    job = view.start_refilter()
    assert view.finish_refilter(job, job.run()) == [1, 3, 4]
    assert len(store) == 4  # the store (saves, exports of everything) keeps it
    view.clear()
    assert view.deleted_shown == 0  # behind the clear point: counted as cleared
    view.delete(4)  # behind the clear point: the view hides it either way
    assert view.undo_clear() and view.deleted == {2}  # the last step first
    assert view.undo_clear() and view.floor == 0 and view.deleted_shown == 1
    assert view.undo_clear() and view.deleted == set()
    job = view.start_refilter()
    assert view.finish_refilter(job, job.run()) == [1, 2, 3, 4]
    assert not view.undo_clear()


def test_switching_the_filter_off_keeps_the_expression() -> None:
    view = ViewState(_store(4), "~id")
    assert view.toggle_filter() and not view.filter_on and view.active_filter == ""
    job = view.start_refilter()
    assert view.finish_refilter(job, job.run()) == [1, 2, 3, 4]
    assert view.toggle_filter() and view.active_filter == "~id"
    assert not ViewState(Store()).toggle_filter()  # nothing to switch


def test_a_saved_view_shows_its_requests_and_goes_off_and_on_with_the_filter() -> None:
    """A session saved with the shown requests only reopens showing those."""
    view = ViewState(_store(6))
    view.restrict(frozenset({2, 3, 5}))

    def shown() -> list[int]:
        job = view.start_refilter()
        return view.finish_refilter(job, job.run()) or []

    assert shown() == [2, 3, 5]
    view.set_filter("~id")
    assert shown() == [2]  # both apply
    assert view.toggle_filter() and shown() == [1, 2, 3, 4, 5, 6]
    assert view.toggle_filter() and shown() == [2]
    view.set_filter("")
    assert view.toggle_filter() and shown() == [1, 2, 3, 4, 5, 6]  # no filter: still a switch


def test_a_stale_refilter_is_dropped_and_entries_that_came_meanwhile_are_added() -> None:
    store = _store(4)
    view = ViewState(store)
    _arrive_all(view)
    old = view.start_refilter()
    view.set_filter("~id")
    new = view.start_refilter()
    assert view.finish_refilter(old, old.run()) is None
    store.add(record(5))
    store.add(record(6, (finding(),)))
    view.arrive([e for e in store if e.record.id > 4])
    assert view.finish_refilter(new, new.run()) == [2, 4, 6]


def test_marked_only_and_the_history_has_no_repeats() -> None:
    store = _store(3)
    store.toggle_mark(2)
    view = ViewState(store)
    view.toggle_marked_only()
    assert _arrive_all(view) == [2]
    view.set_filter("~d a")
    view.set_filter("~d a")
    view.set_filter("~d b")
    assert view.history == ["~d a", "~d b"]


def test_a_response_that_makes_a_hidden_entry_match_is_inserted_late() -> None:
    store = _store(3)
    view = ViewState(store, "~c 404")
    assert _arrive_all(view) == []
    entry = store.set_response(2, response(404))
    assert entry is not None
    arrived = view.arrive([entry])
    assert [e.record.id for e in arrived.updated] == [2]
    assert view.late_matches(arrived.updated, shown=[]) == [2]


def _next(ids: list[int], start: int, step: int, store: Store, match: Predicate) -> object:
    return SearchJob(ids, start, step, 0, store.snapshot(), match).run(lambda done: True)


def test_a_search_goes_forward_and_back_and_round_the_end() -> None:
    store = _store(6)
    ids = [1, 2, 3, 4, 5, 6]
    even: Predicate = lambda e: e.record.id % 2 == 0  # noqa: E731
    assert _next(ids, 0, 1, store, even) == (2, False)
    assert _next(ids, 1, 1, store, even) == (4, False)
    assert _next(ids, 5, 1, store, even) == (2, True)
    assert _next(ids, 3, -1, store, even) == (2, False)
    assert _next(ids, 1, -1, store, even) == (6, True)
    assert _next(ids, -1, 1, store, even) == (2, False)
    assert _next(ids, 5, 1, store, lambda e: e.record.id == 6) == (6, True)  # itself
    assert _next(ids, 0, 1, store, lambda e: False) is None
    assert _next([], 0, 1, store, even) is None


def test_a_search_goes_on_after_the_rows_already_looked_at_and_stops_when_told() -> None:
    store = _store(6)
    ids = [1, 2, 3, 4, 5, 6]
    even: Predicate = lambda e: e.record.id % 2 == 0  # noqa: E731
    # From row 0 forwards, 2 (id 2) and 3 (id 3) were looked at: the next is id 4.
    assert SearchJob(ids, 0, 1, 2, store.snapshot(), even).run(lambda done: True) == (4, False)
    assert list(search_order(6, 4, -1, done=3)) == [(0, False), (5, True), (4, True)]
    told: list[int] = []

    def stop(done: int) -> bool:
        told.append(done)
        return False

    assert SearchJob(ids, 0, 1, 0, store.snapshot(), even).run(stop) is None
    assert told == [0]
