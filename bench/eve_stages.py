#!/usr/bin/env python3
"""Instructions per event of each stage of the eve.json path, counted by callgrind.

The per-stage companion of ``eve_icount.py`` (docs/scale.md prints its figures):
one process runs the stages cumulatively, each being the stages before it plus one
(``decode``: orjson over the lines; ``parse``: reading the file and mapping events
to requests; ``pipe``: the pipeline without a detector; ``detect``: with detection;
``out``: the JSONL line), over the file and over an empty one, under
``valgrind --tool=callgrind``; a stage's figure is its count minus the stage
before's. ``read`` (the lines split in memory, done by every stage) is the floor.

    python bench/eve_stages.py [--events 5000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
REPO = HERE.parent
STAGES = ("read", "decode", "parse", "pipe", "detect", "out")


def _stage(stage: str, path: str) -> None:
    sys.path.insert(0, str(REPO))
    import orjson

    from capture.formats.jsonl import dumps_entry_bytes
    from capture.model import RequestSeen
    from capture.pipeline import Pipeline
    from capture.sources.inputs import open_input
    from capture.sources.records import RecordFile
    from tui.cli import _parser
    from tui.common import build_detector

    data = Path(path).read_bytes().splitlines(keepends=True)
    if stage == "decode":
        for line in data:
            orjson.loads(line)
        return
    if stage == "read":
        return
    source = open_input(path, "suricata")
    assert isinstance(source, RecordFile)
    if stage == "parse":
        for _ in source.requests(responses=False):
            pass
        return
    args = _parser().parse_args(["scan", "--input", "suricata", path])
    pipeline = Pipeline(build_detector(args) if stage != "pipe" else None, responses=False)
    lines = []
    for parsed in source.requests(responses=False):
        for event in pipeline.feed_request(parsed):
            if stage == "out" and type(event) is RequestSeen:
                lines.append(dumps_entry_bytes(event.record))


def _count(stage: str, path: Path) -> int:
    from scan_icount import callgrind  # here: the counted stage runs without it

    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return callgrind([__file__, "--stage", stage, str(path)], env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)
    parser.add_argument("file", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage is not None:
        _stage(args.stage, args.file)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    sys.path.insert(0, str(HERE))
    from engine_log_bench import write_eve

    OUT.mkdir(exist_ok=True)
    eve = OUT / f"icount-eve-{args.events}.json"
    if not eve.exists():
        write_eve(eve, args.events)
    empty = OUT / "icount-eve-empty.json"
    empty.write_bytes(b"")
    before = 0
    for stage in STAGES:
        _count(stage, eve)  # untimed: bytecode caches written
        per_event = (_count(stage, eve) - _count(stage, empty)) // args.events
        label = "floor" if stage == "read" else f"+{per_event - before:,}"
        print(f"{stage:<7} {per_event:>9,} per event ({label})")
        before = per_event


if __name__ == "__main__":
    main()
