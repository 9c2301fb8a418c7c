"""bench/all.sh says what it lacks before it runs any bench."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ALL_SH = Path(__file__).resolve().parents[2] / "bench" / "all.sh"

# What the script itself runs before its checks, and the checks' own commands.
_BASICS = ("bash", "dirname", "git", "id", "cut", "date", "mkdir", "grep", "sed", "nproc")


def _path_with(tmp_path: Path, tools: tuple[str, ...]) -> str:
    """A PATH of one directory holding only ``tools`` (links to the machine's)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in tools:
        found = shutil.which(tool)
        if found is not None:
            (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


def test_a_machine_without_the_benches_tools_is_told_which_before_any_bench_runs(
    tmp_path: Path,
) -> None:
    # On a fresh machine the latency bench wanted pytest and the live bench tcpreplay:
    # their lines were missing from the log of a 20-minute run.
    env = dict(os.environ, PATH=_path_with(tmp_path, _BASICS), PYTHON=sys.executable)
    log = tmp_path / "all.log"
    done = subprocess.run(
        ["bash", str(ALL_SH), str(log)], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 2
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("bench/all.sh: missing: tshark editcap jq tcpdump tcpreplay tmux wrk ip")
    assert not log.exists()
