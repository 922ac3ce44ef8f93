"""A run's folder as the helper finds and writes it: <project>/.outpost/runs/<run>/ (the layout is in _contract)."""

from __future__ import annotations

import datetime
import json
import os
from typing import Any

from . import _contract as contract


def find_project_dir(start: str) -> str:
    """The nearest folder at or above `start` holding .outpost/, else `start` (as the CLI does)."""
    folder = os.path.abspath(start)
    while True:
        if os.path.isdir(os.path.join(folder, contract.OUTPOST_DIR)):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return os.path.abspath(start)
        folder = parent


def run_dir_of(project: str, run_id: str) -> str:
    """The folder of run `run_id` in the project's .outpost/."""
    return os.path.join(project, contract.OUTPOST_DIR, contract.RUNS_DIR, run_id)


def iso_now() -> str:
    """The time now in ISO 8601, UTC, with milliseconds and Z, as JavaScript's toISOString() writes it."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (now.microsecond // 1000)


def write_json_atomic(path: str, obj: Any, **dump_args: Any) -> None:
    """Temp file, fsync, rename (as the agent's writeFileAtomic): a reader never sees half a file."""
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w") as f:
        json.dump(obj, f, **dump_args)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
