"""Waiting for the service: the ack watermark the agent writes beside the spool, and its agent.json.

The watermark (<spool>.ack, {"ino", "offset", ...}) says every line of the spool file with inode
`ino` that ends by byte `offset` is stored; agent.json names the pid of the agent working on the
run. Both are read as untrusted files: anything odd in them is no watermark, or no agent.
"""

from __future__ import annotations

import errno
import json
import os
import time
from typing import Any, Dict, Optional, Tuple, Union

from . import _contract as contract
from ._spool import Batch

Mark = Dict[str, Any]
# What a wait is for, in messages: a metric's name, the names of one log_metrics() line, or everything.
What = Union[str, Tuple[str, ...], None]

_FIRST_PAUSE_S = 0.002  # the first pause between reads of the watermark; it doubles from there
_MAX_PAUSE_S = 0.05  # the longest: polling, as the stdlib has no portable file watch


class AckTimeoutError(TimeoutError):
    """wait() ran out of time; `agent_running` says whether an agent works on the run at all."""

    def __init__(self, message: str, agent_running: bool) -> None:
        super().__init__(message)
        self.agent_running = agent_running


def read_watermark(ack_file: str) -> Optional[Mark]:
    """The watermark as a dict, or None (absent, half-written, not an object, nested past the parser's depth)."""
    try:
        with open(ack_file, "rb") as f:
            mark = json.loads(f.read())
        return mark if isinstance(mark, dict) else None
    except Exception:  # RecursionError too
        return None


def poll_watermark(ack_file: str, batch: Batch, timeout: Optional[float]) -> Tuple[bool, Optional[Mark]]:
    """Reads the watermark until it covers `batch` (True) or `timeout` s pass (False); with the last one read."""
    deadline = None if timeout is None else time.monotonic() + timeout
    pause = _FIRST_PAUSE_S
    while True:
        mark = read_watermark(ack_file)
        if covers(mark, batch):
            return True, mark
        if deadline is not None and time.monotonic() >= deadline:
            return False, mark
        time.sleep(pause if deadline is None else max(0.0, min(pause, deadline - time.monotonic())))
        pause = min(pause * 2, _MAX_PAUSE_S)


def agent_status(run_dirs: list[str]) -> Tuple[bool, str]:
    """(running, detail): agent.json names the live agent's pid. The first folder holding one decides."""
    found = [d for d in run_dirs if os.path.exists(os.path.join(d, contract.AGENT_FILE))]
    file = os.path.join((found or run_dirs)[0], contract.AGENT_FILE)
    try:
        with open(file, "rb") as f:
            presence = json.loads(f.read())
        pid = presence["pid"]
    except FileNotFoundError:
        return False, "no %s" % file
    except Exception as err:  # not JSON, not an object, or nested past the parser's depth (RecursionError)
        return False, "%s is unreadable (%s: %s)" % (file, type(err).__name__, str(err)[:200])
    if type(pid) is not int or not 0 < pid < 2 ** 31:  # a bool is no pid; os.kill takes a C int
        return False, "%s names no pid" % file
    try:
        os.kill(pid, 0)
    except OSError as err:
        if err.errno != errno.EPERM:
            return False, "%s names pid %d, which has exited (killed?)" % (file, pid)
    server = presence.get("server")
    return True, "pid %d, server %s" % (pid, server if type(server) is str else "unknown")


def covers(mark: Optional[Mark], batch: Batch) -> bool:
    """The watermark acknowledges every line of `batch`."""
    return mark is not None and mark.get("ino") == batch.ino and _offset(mark) >= batch.end


def _offset(mark: Mark) -> int:
    offset = mark.get("offset")
    return offset if type(offset) is int else -1


def mark_key(mark: Optional[Mark]) -> Tuple[Any, ...]:
    """Where the watermark stands, to tell later whether it has moved."""
    return () if mark is None else (mark.get("ino"), _offset(mark))


def progress(mark: Optional[Mark], batch: Batch) -> str:
    if mark is None:
        return "nothing acknowledged yet"
    if mark.get("ino") != batch.ino:
        return "the acknowledgements are for an older spool file"
    return "acknowledged up to byte %s, the line ends by byte %d" % (mark.get("offset"), batch.end)


def what_text(what: What) -> str:
    if isinstance(what, tuple):
        return "metrics %s" % (list(what),)
    if what is not None:
        return "metric %r" % (what,)
    return "everything logged so far"


def timeout_error(run_id: str, metrics_file: str, batch: Batch, what: What, timeout: Optional[float],
                  mark: Optional[Mark], running: bool, detail: str) -> AckTimeoutError:
    """The error of a wait() that ran out of time: with an agent, the service is slow; without one, how to start one."""
    head = "timed out after %s s waiting for the service to acknowledge %s (%s: %s)" % (
        timeout, what_text(what), metrics_file, progress(mark, batch))
    if running:
        return AckTimeoutError("%s: an agent is running (%s) but has not had it acknowledged; the service may be "
                               "down or slow, the line is safe in the spool" % (head, detail), True)
    return AckTimeoutError("%s: no agent is running for run %s (%s); start the program with \"outpost run\", or run "
                           "\"outpost agent --run %s\" beside it, or \"outpost sync\" afterwards"
                           % (head, run_id, detail, run_id), False)


def not_acknowledged_message(metrics_file: str, batch: Batch, what: What, timeout: Optional[float],
                             mark: Optional[Mark], detail: str) -> str:
    """The one warning of a process whose wait() returned unacknowledged, the line fsynced and a live agent owning it."""
    return ("the service has not acknowledged %s within %s s (%s: %s); the line is safe in the spool (fsynced) and the "
            "agent (%s) will ship it once the service answers. wait() returns without the acknowledgement until the "
            "service acknowledges again (said once per process); set %s=1 or call wait(strict=True) to have it raise "
            "instead" % (what_text(what), timeout, metrics_file, progress(mark, batch), detail, contract.ENV_STRICT_WAIT))
