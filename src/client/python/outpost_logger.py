"""outpost's Python logger: the Workbench logging API on the outpost metric spool. Stdlib only.

    from outpost_logger import get_logger
    logger = get_logger()
    logger.log("simple integer value", 7)
    logger.log("chart data points", [1, 3, 5, 10, 6, 4])
    logger.log("my metric 1", 1).wait()          # returns once the service has stored it (after 60 s
                                                 # of silence, if an agent runs: once it is fsynced)
    logger.log_metrics({"loss": 0.25, "acc": 0.91}, step=10)
    logger.upload("artifact/path", "contents")   # written to outputs/artifact/path

Under `outpost run` the OUTPOST_* variables name the run. Without them, lines go to an offline
run folder (.outpost/runs/<id>/) that `outpost sync` ships later; a warning says so once.
Put this folder on PYTHONPATH: PYTHONPATH="$(outpost python-path)" (`outpost run` does it).
"""

import atexit
import datetime
import errno
import json
import math
import operator
import os
import re
import socket
import sys
import threading
import time
import uuid

try:
    import fcntl
except ImportError:  # Windows: O_APPEND writes are still whole.
    fcntl = None

__all__ = ["get_logger", "get_azureml_logger", "Logger", "LogHandle", "AckTimeoutError"]

# Contract values shared with the TypeScript side (src/protocol, config/limits.ts).
ENV_RUN_ID = "OUTPOST_RUN_ID"
ENV_METRICS_FILE = "OUTPOST_METRICS_FILE"
ENV_OUTPUTS_DIR = "OUTPOST_OUTPUTS_DIR"
ENV_SERVER = "OUTPOST_SERVER"
ENV_STRICT_WAIT = "OUTPOST_STRICT_WAIT"  # 1: wait() raises on timeout even while a live agent owns the run
MAX_LINE_BYTES = 64 * 1024  # one metric line, newline excluded
MAX_NAME_CHARS = 256  # one metric name, in UTF-16 code units (as the service counts)
MAX_METRICS_PER_LINE = 1000  # metrics in one log_metrics() line (limits.maxMetricsPerLine)
MAX_FILE_BYTES = 512 * 1024 * 1024  # one artifact
MAX_PATH_CHARS = 1024  # one artifact path
UPLOAD_TEMP_PREFIX = ".outpost-tmp-"  # the agent skips these half-written files

FLUSH_INTERVAL_S = 0.05  # a logged line waits at most this long in memory
FLUSH_MAX_BYTES = 1024 * 1024  # buffered bytes that force a flush (bounds memory in tight loops)
MAX_HELD_BYTES = 64 * 1024 * 1024  # lines held while the spool cannot be written; past it log() raises
WAIT_TIMEOUT_S = 60.0  # s, default for wait(); then (not strict) it returns if a live agent owns the run
_MAX_FLOAT = sys.float_info.max


class AckTimeoutError(TimeoutError):
    """wait() ran out of time; `agent_running` says whether an agent works on the run at all."""

    def __init__(self, message, agent_running):
        super().__init__(message)
        self.agent_running = agent_running


class _Batch:
    """Lines flushed together: each ends at or before `end` in the spool file with inode `ino`."""

    __slots__ = ("end", "ino")

    def __init__(self):
        self.end = -1
        self.ino = 0


class LogHandle:
    """Returned by log(): wait() blocks until the service has stored the line. `_what`: the name(s), for errors."""

    __slots__ = ("_logger", "_batch", "_what")

    def __init__(self, logger, batch, what):
        self._logger = logger
        self._batch = batch
        self._what = what

    def wait(self, timeout=WAIT_TIMEOUT_S, strict=None):
        """Blocks until the line is acknowledged, at most `timeout` seconds (None: for ever).

        On timeout it raises AckTimeoutError if no agent owns the run, or if `strict` (default: the
        logger's strict_wait, from OUTPOST_STRICT_WAIT). Otherwise the line is fsynced in the spool,
        the agent will ship it, and wait() returns, with one warning per process; until the service
        acknowledges again, later waits return as soon as their line is durable."""
        self._logger._wait_for(self._batch, self._what, timeout, strict)
        return self


class Logger:
    def __init__(self, metrics_file, outputs_dir, run_id, offline=False):
        self.metrics_file = os.path.abspath(metrics_file)
        self.outputs_dir = os.path.abspath(outputs_dir)
        self.run_id = run_id
        self.run_dir = os.path.dirname(self.metrics_file)
        self.ack_file = self.metrics_file + ".ack"
        # Offline (no agent until `outpost sync`): wait() returns once the line is durable on disk.
        self.offline = offline
        self.strict_wait = _env_flag(ENV_STRICT_WAIT)
        # After a wait() timed out with a live agent: the watermark then (a tuple). Until it moves,
        # waits do not sit out their timeout again (a loop waiting each epoch must not stall each time).
        self._silent_at = None
        self._dir_synced = False
        self._prefixes = {}
        self.max_held_bytes = MAX_HELD_BYTES
        self._reset_after_fork()
        atexit.register(self._flush_at_exit)
        self._flush_on_sigterm()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(before=self._before_fork, after_in_parent=self._after_fork_parent,
                                after_in_child=self._after_fork_child)

    # -- logging -------------------------------------------------------------------------------

    def log(self, name, value, step=None):
        """Logs a finite number, a string, a boolean, or a list of finite numbers."""
        prefix = self._prefixes.get(name) if type(name) is str else None
        if prefix is None:
            name = _check_name(name)
            prefix = self._name_prefix(name)
        line = "%s%s%s,\"time\":%r}\n" % (prefix, _encode_value(name, value), _encode_step(name, step), time.time())
        if len(line) > MAX_LINE_BYTES + 1:  # ASCII only (json escapes the rest): chars are bytes
            raise ValueError("cannot log metric %r: the line is %d bytes, over the %d-byte limit of a metric line"
                             % (name, len(line) - 1, MAX_LINE_BYTES))
        return LogHandle(self, self._push(line), name)

    def log_metrics(self, metrics, step=None):
        """Logs several values as one line (one step): log_metrics({"loss": 0.25, "acc": 0.91}, step=10)."""
        # The dict's own entries, whatever a subclass's items() or __iter__ would say.
        entries = list(dict.items(metrics)) if issubclass(type(metrics), dict) else None
        if not entries:
            raise ValueError("log_metrics() takes a non-empty dict of name -> value, got %s" % _describe(metrics))
        if len(entries) > MAX_METRICS_PER_LINE:
            raise ValueError("cannot log %d metrics in one line: the limit is %d (MAX_METRICS_PER_LINE); "
                             "split them over several log_metrics() calls" % (len(entries), MAX_METRICS_PER_LINE))
        names, parts = [], []
        for name, value in entries:
            name = _check_name(name)
            names.append(name)
            parts.append("%s:%s" % (json.dumps(name), _encode_value(name, value)))
        line = "{\"metrics\":{%s}%s,\"time\":%r}\n" % (",".join(parts), _encode_step("metrics", step), time.time())
        if len(line) > MAX_LINE_BYTES + 1:
            raise ValueError("cannot log metrics %s: the line is %d bytes, over the %d-byte limit of a metric line"
                             % (names, len(line) - 1, MAX_LINE_BYTES))
        return LogHandle(self, self._push(line), tuple(names))

    def _name_prefix(self, name):
        """`{"name":NAME,"value":` for a name _check_name passed; kept, so the next log() of it skips the checks."""
        prefix = "{\"name\":%s,\"value\":" % json.dumps(name)
        if len(self._prefixes) < 10000:
            self._prefixes[name] = prefix
        return prefix

    def _push(self, line):
        with self._lock:
            if self._bytes + len(line) > self.max_held_bytes:
                raise OSError("cannot log: the spool %s cannot be written (%s), and the %d lines held meanwhile reach "
                              "the %d-byte cap (MAX_HELD_BYTES)" % (self.metrics_file, self._last_error, len(self._lines),
                                                                  self.max_held_bytes))
            self._lines.append(line)
            self._bytes += len(line)
            batch = self._batch
            if self._thread is None:
                self._start_timer()
            # After a failure the timer retries: not an open(2) per line while the disk is full.
            full = self._bytes >= FLUSH_MAX_BYTES and self._last_error is None
        if full:
            try:
                self.flush()
            except OSError as err:  # held for the next flush; log() is not where a disk error belongs
                _warn_once("cannot append to the spool %s: %s (will retry)" % (self.metrics_file, err))
        return batch

    # -- flushing ------------------------------------------------------------------------------

    def flush(self, timeout=-1):
        """Appends every buffered line to the spool: one write(2) on O_APPEND, under flock.

        `timeout` (s) bounds the wait for the locks (False if not obtained); -1 waits for ever."""
        # _write_lock keeps flushes in call order; _lock is held only to swap the buffer.
        if not self._write_lock.acquire(timeout=timeout):
            return False
        self._flushing = threading.get_ident()
        try:
            if not self._lock.acquire(timeout=timeout):
                return False
            try:
                if not self._lines:
                    return True
                lines, batch = self._lines, self._batch
                self._lines, self._bytes, self._batch = [], 0, _Batch()
            finally:
                self._lock.release()
            data = "".join(lines).encode("utf-8")
            try:
                self._append(data, batch)
            except BaseException as err:
                with self._lock:  # keep them for the next flush
                    self._lines[:0] = lines
                    self._bytes += len(data)
                    self._batch = batch
                    self._last_error = err
                raise
            self._last_error = None
            return True
        finally:
            self._flushing = None
            self._write_lock.release()
            if self._deferred_signal:
                self._flushing_ends_signal()

    def _append(self, data, batch):
        if self._fd is None:
            os.makedirs(self.run_dir, exist_ok=True)
            self._fd = os.open(self.metrics_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        fd = self._fd
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            view = memoryview(data)
            while view:  # a regular file takes it in one write; the loop guards a short one
                view = view[os.write(fd, view):]
            st = os.fstat(fd)
        finally:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
        batch.end = st.st_size
        batch.ino = st.st_ino

    def _start_timer(self):
        stop = threading.Event()
        self._stop = stop

        def run():
            while not stop.wait(FLUSH_INTERVAL_S):
                try:
                    self.flush()
                except OSError as err:
                    _warn_once("cannot append to the spool %s: %s (will retry)" % (self.metrics_file, err))

        self._thread = threading.Thread(target=run, name="outpost-logger-flush", daemon=True)
        self._thread.start()
        mp_util = sys.modules.get("multiprocessing.util")
        if self._pid_forked and mp_util is not None:
            # A multiprocessing child leaves through os._exit(): atexit does not run, its finalizers do.
            mp_util.Finalize(self, Logger._flush_at_exit, args=(self,), exitpriority=100)

    def _flush_at_exit(self, timeout=-1):
        if os.getpid() != self._pid:
            return
        try:
            self.flush(timeout)
        except Exception as err:  # nothing can be retried at exit; say what is lost
            sys.stderr.write("outpost: could not append buffered metrics to %s: %s\n" % (self.metrics_file, err))

    def _flush_on_sigterm(self):
        """SIGTERM (`outpost run` relaying a stop, Pool.terminate()) skips atexit: flush, then die of it as before.

        Only where SIGTERM still has its default action, and only from the main thread (Python's rule)."""
        import signal

        def on_sigterm(signum, _frame):
            if self._flushing == threading.get_ident():
                # We interrupted our own flush (e.g. a Pool worker's exit): let it finish, then die.
                self._deferred_signal = signum
                return
            # Another thread may be mid-flush: wait for it a while rather than deadlock.
            self._flush_at_exit(timeout=1.0)
            _die_of(signum)

        try:
            if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
                signal.signal(signal.SIGTERM, on_sigterm)
        except (ValueError, OSError, AttributeError):
            pass

    def _flushing_ends_signal(self):
        signum, self._deferred_signal = self._deferred_signal, None
        _die_of(signum)
        return True

    # -- fork: the child starts empty; the parent's lines are the parent's to write ------------

    def _reset_after_fork(self):
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._lines = []
        self._bytes = 0
        self._batch = _Batch()
        self._thread = None
        self._stop = None
        self._fd = None
        self._pid = os.getpid()
        self._pid_forked = False
        self._flushing = None  # thread id of the flush in progress
        self._deferred_signal = None  # SIGTERM that arrived during our own flush
        self._last_error = None  # why the last flush failed, until one succeeds

    def _before_fork(self):
        self._write_lock.acquire()
        self._lock.acquire()
        # Written before the fork, so the parent's earlier lines precede the child's.
        if self._lines:
            data = "".join(self._lines).encode("utf-8")
            try:
                self._append(data, self._batch)
                self._lines, self._bytes, self._batch = [], 0, _Batch()
            except OSError:
                pass

    def _after_fork_parent(self):
        self._lock.release()
        self._write_lock.release()

    def _after_fork_child(self):
        fd = self._fd
        # A flock belongs to the open file description, which the child shares: it opens its own.
        self._reset_after_fork()
        self._pid_forked = True
        self._flush_on_sigterm()  # the child's only thread is its main thread
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass

    # -- waiting -------------------------------------------------------------------------------

    def wait(self, timeout=WAIT_TIMEOUT_S, strict=None):
        """Flushes, then blocks until everything logged so far (by any process) is acknowledged.

        A timeout is handled as in LogHandle.wait()."""
        self.flush()
        try:
            st = os.stat(self.metrics_file)
        except FileNotFoundError:
            return
        batch = _Batch()
        batch.end, batch.ino = st.st_size, st.st_ino
        self._wait_for(batch, None, timeout, strict)

    def _wait_for(self, batch, what, timeout, strict=None):
        if batch.end < 0:
            self.flush()
        if batch.end < 0:  # another thread is flushing it right now
            with self._write_lock:
                pass
        if self.offline:
            self._make_durable()
            return
        strict = self.strict_wait if strict is None else strict
        if not strict and self._silent_at is not None and self._still_silent(batch):
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.002
        while True:
            mark = self._read_watermark()
            if _covers(mark, batch):
                return
            if deadline is not None and time.monotonic() >= deadline:
                break
            # Polling: the stdlib has no portable file watch. Short at first, 50 ms at most.
            time.sleep(pause if deadline is None else max(0.0, min(pause, deadline - time.monotonic())))
            pause = min(pause * 2, 0.05)
        running, detail = self._agent_status()
        # No agent: a set-up mistake, said with how to fix it. Strict: the caller asked to know.
        if strict or not running:
            raise self._timeout_error(batch, what, timeout, mark, running, detail)
        self._make_durable()
        self._silent_at = _mark_key(mark)
        _warn_not_acknowledged("the service has not acknowledged %s within %s s (%s: %s); the line is safe in the "
                               "spool (fsynced) and the agent (%s) will ship it once the service answers. wait() "
                               "returns without the acknowledgement until the service acknowledges again (said once "
                               "per process); set %s=1 or call wait(strict=True) to have it raise instead"
                               % (_what_text(what), timeout, self.metrics_file, _progress(mark, batch), detail,
                                  ENV_STRICT_WAIT))

    def _still_silent(self, batch):
        """After a wait() gave up on a silent service: True (the line made durable) while the watermark stands
        where it stood then and the agent lives; otherwise waits are normal again."""
        mark = self._read_watermark()
        if _covers(mark, batch):
            return True
        if _mark_key(mark) == self._silent_at and self._agent_status()[0]:
            self._make_durable()
            return True
        self._silent_at = None
        return False

    def _make_durable(self):
        """fsync of the spool; of its folder too, once (a spool created just now needs its entry durable)."""
        fd = self._fd
        if fd is not None:
            os.fsync(fd)
        else:  # this process has not written to it (a child waiting for everything, say)
            try:
                fd = os.open(self.metrics_file, os.O_RDWR)
            except FileNotFoundError:
                return
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        if self._dir_synced:
            return
        try:
            dir_fd = os.open(self.run_dir, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError:  # not every platform can fsync a folder (Windows); the file is synced
            pass
        self._dir_synced = True

    def _read_watermark(self):
        try:
            with open(self.ack_file, "rb") as f:
                mark = json.loads(f.read())
            return mark if isinstance(mark, dict) else None
        except Exception:  # absent, half-written, or nested past the parser's depth (RecursionError)
            return None

    def _agent_status(self):
        by_id = os.path.join(_find_project_dir(os.getcwd()), ".outpost", "runs", self.run_id)
        return _agent_status([self.run_dir] if by_id == self.run_dir else [self.run_dir, by_id])

    def _timeout_error(self, batch, what, timeout, mark, running, detail):
        head = "timed out after %s s waiting for the service to acknowledge %s (%s: %s)" % (
            timeout, _what_text(what), self.metrics_file, _progress(mark, batch))
        if running:
            return AckTimeoutError("%s: an agent is running (%s) but has not had it acknowledged; the service may be "
                                   "down or slow, the line is safe in the spool" % (head, detail), True)
        return AckTimeoutError("%s: no agent is running for run %s (%s); start the program with \"outpost run\", or run "
                               "\"outpost agent --run %s\" beside it, or \"outpost sync\" afterwards"
                               % (head, self.run_id, detail, self.run_id), False)

    # -- artifacts -----------------------------------------------------------------------------

    def upload(self, path, content):
        """Writes str or bytes to outputs/PATH atomically (temp file, fsync, rename); the agent uploads it."""
        problem = _artifact_path_problem(path)
        if problem:
            raise ValueError("cannot upload %r: %s; give a relative path inside outputs/" % (path, problem))
        if isinstance(content, str):
            data = content.encode("utf-8")
        elif isinstance(content, (bytes, bytearray, memoryview)):
            data = bytes(content)
        else:
            raise TypeError("cannot upload %r: content must be str or bytes, got %s" % (path, type(content).__name__))
        if len(data) > MAX_FILE_BYTES:
            raise ValueError("cannot upload %r: %d bytes is over the %d-byte cap of one artifact"
                             % (path, len(data), MAX_FILE_BYTES))
        dest = os.path.join(self.outputs_dir, *path.split("/"))
        folder = os.path.dirname(dest)
        os.makedirs(folder, exist_ok=True)
        temp = os.path.join(folder, "%s%d-%s" % (UPLOAD_TEMP_PREFIX, os.getpid(), uuid.uuid4().hex[:12]))
        try:
            with open(temp, "xb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temp, dest)
        except BaseException:
            try:
                os.unlink(temp)
            except OSError:
                pass
            raise
        return dest


# -- values ------------------------------------------------------------------------------------
#
# Values come from user code: nothing here recurses more than one level, and nothing trusts a
# value's own methods beyond the number protocol (operator.index, float()), whose results are
# taken as exact ints and floats. Subclasses of str, int, float, list and tuple are read through
# the base type's own methods (their __iter__, __str__ or __repr__ may loop, recurse or lie), and
# messages describe a value in a few words (_describe), never through its repr. So a deep,
# recursive or hostile value is a ValueError naming the metric, never a RecursionError or a hang.

# A list item takes at least two bytes ("1,"): a longer list cannot fit in a line.
_MAX_LIST_ITEMS = MAX_LINE_BYTES // 2


def _check_name(name):
    """The name as a plain str, or ValueError saying what is wrong with it."""
    if type(name) is not str:
        if not issubclass(type(name), str):
            raise ValueError("metric name must be a string, got %s" % _describe(name))
        name = str.__str__(name)
    if not name:
        raise ValueError("metric name is empty")
    if len(name) > MAX_NAME_CHARS or _utf16_len(name) > MAX_NAME_CHARS:
        raise ValueError("metric name %r... is longer than %d characters%s" % (
            name[:40], MAX_NAME_CHARS, "" if len(name) > MAX_NAME_CHARS else
            " (counted as the service counts them, in UTF-16 code units: a character beyond U+FFFF takes two)"))
    if "\0" in name:
        raise ValueError("metric name %r contains a NUL character" % (name,))
    problem = _surrogate_problem(name)
    if problem:
        raise ValueError("metric name %r %s" % (name, problem))
    return name


def _utf16_len(text):
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for c in text if c > "\uffff")


# Surrogate code points have no UTF-8 form: json.dumps would write one as a \u escape, and the
# service would then have to refuse the line (or store U+FFFD, a different name).
_SURROGATE = re.compile("[\ud800-\udfff]")


def _surrogate_problem(text):
    """None when `text` is valid Unicode, else why not (as the service words it)."""
    if text.isascii():
        return None
    found = _SURROGATE.search(text)
    if found is None:
        return None
    return "contains a lone surrogate (U+%04X), not valid Unicode" % ord(found.group())


def _encode_step(name, step):
    if step is None:
        return ""
    if type(step) is not int:
        n = None
        if not issubclass(type(step), (bool, float)):
            try:
                n = int.__index__(operator.index(step))
            except Exception:  # not an integer (its own __index__ may fail in any way)
                pass
        if n is None:
            raise ValueError("cannot log metric %r: step must be an integer >= 0, got %s" % (name, _describe(step)))
        step = n
    if step < 0 or step > 9007199254740991:  # JavaScript's largest safe integer
        raise ValueError("cannot log metric %r: step must be an integer >= 0, got %s" % (name, _describe(step)))
    return ",\"step\":%d" % step


def _encode_value(name, value):
    """JSON text of one value; ValueError naming the metric and the reason for anything else."""
    t = type(value)
    if t is float:
        if value - value != 0.0:  # NaN or infinity, the fast way
            raise ValueError("cannot log metric %r: %r is not a finite number" % (name, value))
        return repr(value)
    if t is int:
        if -_MAX_FLOAT <= value <= _MAX_FLOAT:
            return int.__repr__(value)
        raise ValueError("cannot log metric %r: the integer is too large for a JSON number" % (name,))
    if t is str:
        problem = _surrogate_problem(value)
        if problem:
            raise ValueError("cannot log metric %r: the string value %s" % (name, problem))
        return json.dumps(value)
    if t is bool:
        return "true" if value else "false"
    if t is list or t is tuple:
        if len(value) > _MAX_LIST_ITEMS:
            raise ValueError("cannot log metric %r: the list has %d items, more than a %d-byte metric line holds"
                             % (name, len(value), MAX_LINE_BYTES))
        return "[%s]" % ",".join([_encode_number(name, i, v) for i, v in enumerate(value)])
    return _encode_other(name, value)


def _encode_number(name, i, v):
    """One list item: a finite number, as JSON."""
    t = type(v)
    if t is int and -_MAX_FLOAT <= v <= _MAX_FLOAT:
        return int.__repr__(v)
    if t is float and v - v == 0.0:
        return repr(v)
    if issubclass(t, (list, tuple)):
        raise ValueError("cannot log metric %r: item %d is a list; nested lists are not allowed (lists hold numbers only)"
                         % (name, i))
    if t is not bool and t is not int and t is not float:
        n = _as_number(name, v, "item %d" % i)
        if type(n) is int and -_MAX_FLOAT <= n <= _MAX_FLOAT:
            return int.__repr__(n)
        if type(n) is float and n - n == 0.0:
            return repr(n)
    raise ValueError("cannot log metric %r: item %d (%s) must be a finite number (lists hold numbers only)"
                     % (name, i, _describe(v)))


def _as_number(name, v, where):
    """numpy scalars and other numbers (without importing numpy) as an exact int or float, else None."""
    t = type(v)
    if issubclass(t, bool) or t.__name__ == "bool_":
        return None
    try:
        if hasattr(v, "__index__"):
            return int.__index__(operator.index(v))
        if hasattr(v, "__float__") and not issubclass(t, (str, bytes, list, tuple, dict)):
            return float(v)  # an exact float, or TypeError
    except (TypeError, ValueError, OverflowError):
        return None
    except Exception as err:  # the value's own code failed (a RecursionError, say)
        raise _foreign_failure(name, where, v, err)
    return None


def _encode_other(name, value):
    """Anything but the plain types: None, subclasses of them, numpy (and torch) values, other numbers."""
    if value is None:
        raise ValueError("cannot log metric %r: the value is None" % (name,))
    t = type(value)
    # Subclasses: the plain value, read by the base type's own methods. Each gives a plain type, so
    # _encode_value does not come back here.
    if issubclass(t, str):
        return _encode_value(name, str.__str__(value))
    if issubclass(t, int):  # bool cannot be subclassed; IntEnum members land here
        return _encode_value(name, int.__index__(value))
    if issubclass(t, float):  # numpy.float64 too
        return _encode_value(name, float.__float__(value))
    if issubclass(t, list):
        return _encode_value(name, list.__getitem__(value, slice(None)))
    if issubclass(t, tuple):
        return _encode_value(name, tuple.__getitem__(value, slice(None)))
    try:
        if t.__name__ == "bool_":  # numpy.bool_
            return "true" if bool(value) else "false"
        is_array = hasattr(value, "tolist") and hasattr(value, "ndim")
        if is_array:
            ndim, size = value.ndim, getattr(value, "size", None)
    except Exception as err:
        raise _foreign_failure(name, "the value", value, err)
    if is_array:  # numpy arrays and scalars, torch tensors
        if type(ndim) is int and ndim > 1:
            raise ValueError("cannot log metric %r: a %d-dimensional array; only 1-dimensional ones (lists of numbers) "
                             "can be logged" % (name, ndim))
        if type(size) is int and size > _MAX_LIST_ITEMS:
            raise ValueError("cannot log metric %r: the array has %d items, more than a %d-byte metric line holds"
                             % (name, size, MAX_LINE_BYTES))
        try:
            plain = value.tolist()
        except Exception as err:
            raise _foreign_failure(name, "tolist() of the value", value, err)
        if type(plain) in (int, float, bool, str, list, tuple):
            return _encode_value(name, plain)
        raise ValueError("cannot log metric %r: tolist() of the %s value gave %s, not a number or a list of numbers"
                         % (name, t.__name__, _describe(plain)))
    n = _as_number(name, value, "the value")
    if n is not None:
        return _encode_value(name, n)
    raise ValueError("cannot log metric %r: a value must be a number, string, boolean or list of numbers, got %s"
                     % (name, t.__name__))


def _foreign_failure(name, where, value, err):
    try:
        detail = str(err)[:200]
    except Exception:
        detail = ""
    return ValueError("cannot log metric %r: %s (of type %s) could not be read as a number: %s%s"
                      % (name, where, type(value).__name__, type(err).__name__, ": " + detail if detail else ""))


def _describe(value):
    """A value in a few words, for a message: a scalar as written (shortened), else its kind and size."""
    t = type(value)
    if value is None or t is bool or t is float:
        return repr(value)
    if t is int:
        return int.__repr__(value) if value.bit_length() <= 64 else "an integer of %d bits" % value.bit_length()
    if t is str:
        return repr(value) if len(value) <= 40 else "%r... (%d characters)" % (value[:40], len(value))
    if t is dict:
        return "{}" if not dict.__len__(value) else "a dict of %s" % _items(dict.__len__(value))
    if t is list or t is tuple:
        return "a %s of %s" % (t.__name__, _items(len(value)))
    return "a value of type %s" % t.__name__


def _items(n):
    return "1 item" if n == 1 else "%d items" % n


def _artifact_path_problem(path):
    """The rules of src/protocol/artifact-path.ts."""
    if not isinstance(path, str) or not path:
        return "path is empty"
    if len(path) > MAX_PATH_CHARS:
        return "path is longer than %d characters" % MAX_PATH_CHARS
    if "\0" in path:
        return "path contains a NUL character"
    if "\\" in path:
        return "path contains a backslash"
    if path.startswith("/"):
        return "path is absolute"
    if len(path) >= 2 and path[1] == ":" and path[0].isalpha():
        return "path starts with a drive letter"
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        return "path contains a control character"
    for segment in path.split("/"):
        if segment == "..":
            return "path escapes the run (\"..\")"
        if segment in ("", "."):
            return "path has an empty or \".\" segment"
    return None


def _agent_status(run_dirs):
    """(running, detail): agent.json names the live agent's pid. The first folder holding one decides."""
    found = [d for d in run_dirs if os.path.exists(os.path.join(d, "agent.json"))]
    file = os.path.join((found or run_dirs)[0], "agent.json")
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


def _covers(mark, batch):
    return mark is not None and mark.get("ino") == batch.ino and _offset(mark) >= batch.end


def _offset(mark):
    offset = mark.get("offset")
    return offset if type(offset) is int else -1


def _mark_key(mark):
    return () if mark is None else (mark.get("ino"), _offset(mark))


def _progress(mark, batch):
    if mark is None:
        return "nothing acknowledged yet"
    if mark.get("ino") != batch.ino:
        return "the acknowledgements are for an older spool file"
    return "acknowledged up to byte %s, the line ends by byte %d" % (mark.get("offset"), batch.end)


def _what_text(what):
    if isinstance(what, tuple):
        return "metrics %s" % (list(what),)
    if what is not None:
        return "metric %r" % (what,)
    return "everything logged so far"


def _env_flag(name):
    """A yes/no variable; anything else is said once and taken as no (a typo must not kill a training job)."""
    raw = os.environ.get(name)
    if raw is None:
        return False
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value not in ("", "0", "false", "no", "off"):
        _warn_once("%s=%s is not one of 1, true, yes, on, 0, false, no, off; wait() stays not strict"
                   % (name, json.dumps(raw)))
    return False


def _die_of(signum):
    """The signal's default action, as if we had never caught it."""
    import signal

    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


_warned = set()
_warned_not_acknowledged = []


def _warn_once(message):
    if message not in _warned:
        _warned.add(message)
        sys.stderr.write("outpost: %s\n" % message)


def _warn_not_acknowledged(message):
    """Once per process, whatever the metric: a loop waiting each epoch would say it every epoch."""
    if not _warned_not_acknowledged:
        _warned_not_acknowledged.append(True)
        sys.stderr.write("outpost: %s\n" % message)


# -- the process's logger ----------------------------------------------------------------------

_shared = None
_shared_lock = threading.Lock()


def get_logger():
    """The process's logger. Under `outpost run` it writes to the run's spool; otherwise to an offline run."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = _logger_from_env() or _offline_logger()
        return _shared


get_azureml_logger = get_logger  # the Workbench name, so old scripts change only their import


def _logger_from_env():
    metrics_file = os.environ.get(ENV_METRICS_FILE)
    if not metrics_file:
        return None
    run_id = os.environ.get(ENV_RUN_ID) or os.path.basename(os.path.dirname(os.path.abspath(metrics_file)))
    return Logger(metrics_file, os.environ.get(ENV_OUTPUTS_DIR) or "outputs", run_id)


def _offline_logger():
    """Outside `outpost run`: an offline run folder in the project's .outpost/, shipped by `outpost sync`."""
    project = _find_project_dir(os.getcwd())
    run_id = "default_%d_%s" % (time.time() * 1000, uuid.uuid4().hex[:4])  # as src/agent/run-folder.ts
    run_dir = os.path.join(project, ".outpost", "runs", run_id)
    os.makedirs(run_dir, exist_ok=True)
    metrics_file = os.path.join(run_dir, "metrics.jsonl")
    outputs_dir = os.path.abspath("outputs")
    created = _iso_now()
    info = {
        "id": run_id,
        "experiment": "default",
        "name": os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python",
        "server": os.environ.get(ENV_SERVER) or None,
        "outputsDir": outputs_dir,
        "metricsFile": metrics_file,
        "createdTime": created,
        # What `outpost sync` registers the run with, later: its real start, and where it came from.
        "facts": {
            "startTime": created,
            "command": _command_line([os.path.basename(sys.executable or "") or "python"] + list(sys.argv)),
            "cwd": _printable(os.getcwd()),
            "host": _printable(socket.gethostname()),
        },
    }
    _write_json_atomic(os.path.join(run_dir, "run.json"), info, indent=2)
    _write_preexisting_outputs(run_dir, outputs_dir)
    # Child processes log into the same offline run.
    os.environ[ENV_RUN_ID] = run_id
    os.environ[ENV_METRICS_FILE] = metrics_file
    os.environ[ENV_OUTPUTS_DIR] = outputs_dir
    _record_exit_at_exit(run_dir)
    sys.stderr.write("outpost: not under `outpost run` (%s is not set): logging offline to %s; "
                     "ship it with `outpost sync`, or start the program with `outpost run -- python ...`\n"
                     % (ENV_METRICS_FILE, run_dir))
    return Logger(metrics_file, outputs_dir, run_id, offline=True)


def _iso_now():
    """The time now in ISO 8601, UTC, with milliseconds and Z, as JavaScript's toISOString() writes it."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (now.microsecond // 1000)


_PLAIN_ARG = re.compile(r"[A-Za-z0-9_./=:,@%+-]+")


def _command_line(argv):
    """A shell-readable rendering of argv, as the agent's commandLine() (src/agent/run-facts.ts)."""
    return " ".join(a if _PLAIN_ARG.fullmatch(a) else "'%s'" % a.replace("'", "'\\''") for a in map(_printable, argv))


def _printable(text):
    """Valid Unicode for the service: bytes that are not UTF-8 (kept by Python as lone surrogates) as \\xNN."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _find_project_dir(start):
    """The nearest folder at or above `start` holding .outpost/, else `start` (as the CLI does)."""
    folder = os.path.abspath(start)
    while True:
        if os.path.isdir(os.path.join(folder, ".outpost")):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return os.path.abspath(start)
        folder = parent


def _record_exit_at_exit(run_dir):
    """exit.json tells `outpost sync` how an offline run ended (else it is marked killed).

    atexit does not see the exit code, so sys.exit is wrapped to note it (as wandb does); a bare
    `raise SystemExit(n)` bypasses that and is recorded as completed."""
    pid = os.getpid()
    failed = []
    exit_code = []
    previous_hook = sys.excepthook
    previous_exit = sys.exit

    def hook(*exc):
        failed.append(True)
        previous_hook(*exc)

    def exit(code=None):
        exit_code.append(code)
        previous_exit(code)

    sys.excepthook = hook
    sys.exit = exit

    def record():
        if os.getpid() != pid:  # a forked child's exit is not the run's
            return
        code = 1 if failed else _exit_status(exit_code[-1] if exit_code else None)
        end = {"status": "failed" if code else "completed", "exitCode": code,
               "endTime": _iso_now()}
        try:
            _write_json_atomic(os.path.join(run_dir, "exit.json"), end)
        except OSError:
            pass

    atexit.register(record)


def _exit_status(code):
    """The process status Python gives sys.exit(code): None is 0, an int is itself, anything else (a message) is 1."""
    if code is None:
        return 0
    if isinstance(code, int):  # bool too: sys.exit(True) is status 1
        return code & 0xFF
    return 1


def _write_json_atomic(path, obj, **dump_args):
    """Temp file, fsync, rename (as the agent's writeFileAtomic): a reader never sees half a file."""
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w") as f:
        json.dump(obj, f, **dump_args)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _write_preexisting_outputs(run_dir, outputs_dir):
    """files.json as the agent writes it when it starts: what outputs/ holds now is an earlier run's.

    Without it, `outpost sync` (the agent's first start, later) would take this run's files for old ones."""
    files = {}
    for folder, dirs, names in os.walk(outputs_dir):
        for name in names:
            if name.startswith(UPLOAD_TEMP_PREFIX):  # half-written by an upload(); the agent skips them too
                continue
            full = os.path.join(folder, name)
            try:
                st = os.lstat(full)
            except OSError:
                continue
            if not os.path.isfile(full) or os.path.islink(full):
                continue
            rel = os.path.relpath(full, outputs_dir).replace(os.sep, "/")
            # Node's mtimeMs, bit for bit: sec * 1e3 + nsec / 1e6.
            sec, nsec = divmod(st.st_mtime_ns, 10 ** 9)
            files[rel] = {"size": st.st_size, "mtimeMs": sec * 1000 + nsec / 1e6, "state": "preexisting"}
    _write_json_atomic(os.path.join(run_dir, "files.json"), {"version": 1, "files": files})
