"""Logger and LogHandle: the Workbench logging API (log, wait, upload) over the spool, the watermark and outputs/."""

from __future__ import annotations

import json
import os
import time
from typing import Any, Optional, Tuple

from . import _contract as contract
from ._ack import (What, agent_status, covers, mark_key, not_acknowledged_message, poll_watermark, read_watermark,
                   timeout_error)
from ._encode import MAX_SAFE_INTEGER, check_name, describe, encode_step, encode_value
from ._env import env_flag
from ._meta import encode_params, encode_tags
from ._run_folder import find_project_dir, run_dir_of
from ._spool import Batch, SpoolAppender
from ._upload import Content, write_output
from ._warn import warn_not_acknowledged

_time = time.time
_MAX_CACHED_NAMES = 10000  # names whose line prefix is kept, so that logging one again skips its checks


class LogHandle:
    """Returned by log(): wait() blocks until the service has stored the line. `_what`: the name(s), for errors."""

    __slots__ = ("_logger", "_batch", "_what")

    def __init__(self, logger: Logger, batch: Batch, what: What) -> None:
        self._logger = logger
        self._batch = batch
        self._what = what

    def wait(self, timeout: Optional[float] = contract.WAIT_TIMEOUT_S, strict: Optional[bool] = None) -> LogHandle:
        """Blocks until the line is acknowledged, at most `timeout` seconds (None: for ever).

        On timeout it raises AckTimeoutError if no agent owns the run, or if `strict` (default: the
        logger's strict_wait, from OUTPOST_STRICT_WAIT). Otherwise the line is fsynced in the spool,
        the agent will ship it, and wait() returns, with one warning per process; until the service
        acknowledges again, later waits return as soon as their line is durable."""
        self._logger._wait_for(self._batch, self._what, timeout, strict)
        return self


class Logger(SpoolAppender):
    """A run's logger: lines go to the spool `metrics_file`, files to `outputs_dir`.

    `offline`: no agent works on the run until `outpost sync`, so wait() returns once the line is
    durable on disk."""

    def __init__(self, metrics_file: str, outputs_dir: str, run_id: str, offline: bool = False) -> None:
        super().__init__(metrics_file)
        self.outputs_dir = os.path.abspath(outputs_dir)
        self.run_id = run_id
        self.ack_file = self.metrics_file + contract.ACK_SUFFIX
        self.offline = offline
        self.strict_wait = env_flag(contract.ENV_STRICT_WAIT, contract.STRICT_WAIT)
        # After a wait() timed out with a live agent: the watermark then (a tuple). Until it moves,
        # waits do not sit out their timeout again (a loop waiting each epoch must not stall each time).
        self._silent_at: Optional[Tuple[Any, ...]] = None
        self._prefixes: dict[str, str] = {}

    # -- logging -------------------------------------------------------------------------------

    def log(self, name: str, value: Any, step: Optional[int] = None) -> LogHandle:
        """Logs a finite number, a string, a boolean, or a list of finite numbers."""
        prefix = self._prefixes.get(name) if type(name) is str else None
        if prefix is not None and type(value) is float and value - value == 0.0:
            # The common call (a name logged before, a finite float): nothing to refuse, nothing too long.
            if step is None:
                return LogHandle(self, self._push("%s%r,\"time\":%r}\n" % (prefix, value, _time())), name)
            if type(step) is int and 0 <= step <= MAX_SAFE_INTEGER:
                return LogHandle(self, self._push("%s%r,\"step\":%d,\"time\":%r}\n" % (prefix, value, step, _time())),
                                 name)
        if prefix is None:
            name = check_name(name)
            prefix = self._name_prefix(name)
        line = "%s%s%s,\"time\":%r}\n" % (prefix, encode_value(name, value), encode_step(name, step), time.time())
        if len(line) > contract.MAX_LINE_BYTES + 1:  # ASCII only (json escapes the rest): chars are bytes
            raise ValueError("cannot log metric %r: the line is %d bytes, over the %d-byte limit of a metric line"
                             % (name, len(line) - 1, contract.MAX_LINE_BYTES))
        return LogHandle(self, self._push(line), name)

    def log_metrics(self, metrics: dict[str, Any], step: Optional[int] = None) -> LogHandle:
        """Logs several values as one line (one step): log_metrics({"loss": 0.25, "acc": 0.91}, step=10)."""
        # The dict's own entries, whatever a subclass's items() or __iter__ would say.
        entries = list(dict.items(metrics)) if issubclass(type(metrics), dict) else None
        if not entries:
            raise ValueError("log_metrics() takes a non-empty dict of name -> value, got %s" % describe(metrics))
        if len(entries) > contract.MAX_METRICS_PER_LINE:
            raise ValueError("cannot log %d metrics in one line: the limit is %d (MAX_METRICS_PER_LINE); "
                             "split them over several log_metrics() calls" % (len(entries), contract.MAX_METRICS_PER_LINE))
        names, parts = [], []
        for name, value in entries:
            name = check_name(name)
            names.append(name)
            parts.append("%s:%s" % (json.dumps(name), encode_value(name, value)))
        line = "{\"metrics\":{%s}%s,\"time\":%r}\n" % (",".join(parts), encode_step("metrics", step), time.time())
        if len(line) > contract.MAX_LINE_BYTES + 1:
            raise ValueError("cannot log metrics %s: the line is %d bytes, over the %d-byte limit of a metric line"
                             % (names, len(line) - 1, contract.MAX_LINE_BYTES))
        return LogHandle(self, self._push(line), tuple(names))

    def log_params(self, params: dict[str, Any]) -> LogHandle:
        """The run's hyperparameters: log_params({"lr": 0.01, "model": {"depth": 4}}) (kept as model.depth).

        A param keeps its first value: logging another value for it later is a rejected line that
        `outpost history info` names, not a change."""
        return LogHandle(self, self._push(encode_params(params)), "params")

    def set_tags(self, tags: dict[str, Any]) -> LogHandle:
        """Sets tags of the run: strings, numbers or booleans (kept as text); None removes one."""
        return LogHandle(self, self._push(encode_tags(tags)), "tags")

    def _name_prefix(self, name: str) -> str:
        """`{"name":NAME,"value":` for a name check_name passed; kept, so the next log() of it skips the checks."""
        prefix = "{\"name\":%s,\"value\":" % json.dumps(name)
        if len(self._prefixes) < _MAX_CACHED_NAMES:
            self._prefixes[name] = prefix
        return prefix

    # -- waiting -------------------------------------------------------------------------------

    def wait(self, timeout: Optional[float] = contract.WAIT_TIMEOUT_S, strict: Optional[bool] = None) -> None:
        """Flushes, then blocks until everything logged so far (by any process) is acknowledged.

        A timeout is handled as in LogHandle.wait()."""
        self.flush()
        try:
            st = os.stat(self.metrics_file)
        except FileNotFoundError:
            return
        batch = Batch()
        batch.end, batch.ino = st.st_size, st.st_ino
        self._wait_for(batch, None, timeout, strict)

    def _wait_for(self, batch: Batch, what: What, timeout: Optional[float], strict: Optional[bool] = None) -> None:
        batch = self._resolve(batch)
        if self.offline:
            self._make_durable()
            return
        strict = self.strict_wait if strict is None else strict
        if not strict and self._silent_at is not None and self._still_silent(batch):
            return
        acknowledged, mark = poll_watermark(self.ack_file, batch, timeout)
        if acknowledged:
            return
        running, detail = self._agent_status()
        # No agent: a set-up mistake, said with how to fix it. Strict: the caller asked to know.
        if strict or not running:
            raise timeout_error(self.run_id, self.metrics_file, batch, what, timeout, mark, running, detail)
        self._make_durable()
        self._silent_at = mark_key(mark)
        warn_not_acknowledged(not_acknowledged_message(self.metrics_file, batch, what, timeout, mark, detail))

    def _still_silent(self, batch: Batch) -> bool:
        """After a wait() gave up on a silent service: True (the line made durable) while the watermark stands
        where it stood then and the agent lives; otherwise waits are normal again."""
        mark = read_watermark(self.ack_file)
        if covers(mark, batch):
            return True
        if mark_key(mark) == self._silent_at and self._agent_status()[0]:
            self._make_durable()
            return True
        self._silent_at = None
        return False

    def _agent_status(self) -> Tuple[bool, str]:
        # `outpost agent --metrics FILE` keeps agent.json in .outpost/runs/<run>, not beside FILE.
        by_id = run_dir_of(find_project_dir(os.getcwd()), self.run_id)
        return agent_status([self.run_dir] if by_id == self.run_dir else [self.run_dir, by_id])

    # -- artifacts -----------------------------------------------------------------------------

    def upload(self, path: str, content: Content) -> str:
        """Writes str or bytes to outputs/PATH atomically (temp file, fsync, rename); the agent uploads it."""
        return write_output(self.outputs_dir, path, content)
