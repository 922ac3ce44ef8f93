"""The buffered spool appender: lines wait in memory and are appended to the spool in whole writes.

A background thread flushes every FLUSH_INTERVAL_S; so do a full buffer, flush(), wait() and the
end of the process, however it ends: atexit, SIGTERM (which skips atexit), a multiprocessing
child's os._exit() (its finalizers run). Each flush is one write(2) on an O_APPEND descriptor
under flock, so processes sharing the spool never mix halves of lines. After fork the child
starts empty: the parent's buffered lines are written once, by the parent, before the fork.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
from types import FrameType
from typing import Optional

from . import _contract as contract
from ._warn import warn_once

try:
    import fcntl
except ImportError:  # Windows: O_APPEND writes are still whole.
    fcntl = None  # type: ignore[assignment]


class Batch:
    """Lines flushed together: each ends at or before `end` in the spool file with inode `ino`."""

    __slots__ = ("end", "ino")

    def __init__(self) -> None:
        self.end = -1
        self.ino = 0


class SpoolAppender:
    """Appends lines to the spool `metrics_file`; _push() returns the Batch a line will be written in."""

    # Set anew in a forked child (_reset_after_fork).
    _lock: threading.Lock
    _write_lock: threading.Lock
    _lines: list[str]
    _bytes: int
    _batch: Batch
    _thread: Optional[threading.Thread]
    _stop: Optional[threading.Event]
    _fd: Optional[int]
    _pid: int
    _pid_forked: bool
    _flushing: Optional[int]  # thread id of the flush in progress
    _deferred_signal: Optional[int]  # SIGTERM that arrived during our own flush
    _last_error: Optional[BaseException]  # why the last flush failed, until one succeeds

    def __init__(self, metrics_file: str) -> None:
        self.metrics_file = os.path.abspath(metrics_file)
        self.run_dir = os.path.dirname(self.metrics_file)
        self.max_held_bytes = contract.MAX_HELD_BYTES
        self._dir_synced = False
        self._reset_after_fork()
        atexit.register(self._flush_at_exit)
        self._flush_on_sigterm()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(before=self._before_fork, after_in_parent=self._after_fork_parent,
                                after_in_child=self._after_fork_child)

    def _push(self, line: str) -> Batch:
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
            full = self._bytes >= contract.FLUSH_MAX_BYTES and self._last_error is None
        if full:
            try:
                self.flush()
            except OSError as err:  # held for the next flush; log() is not where a disk error belongs
                warn_once("cannot append to the spool %s: %s (will retry)" % (self.metrics_file, err))
        return batch

    # -- flushing ------------------------------------------------------------------------------

    def flush(self, timeout: float = -1) -> bool:
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
                self._lines, self._bytes, self._batch = [], 0, Batch()
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

    def _written(self, batch: Batch) -> None:
        """Returns once `batch` is in the spool: flushed now, or by the flush another thread is doing."""
        if batch.end < 0:
            self.flush()
        if batch.end < 0:  # another thread is flushing it right now
            with self._write_lock:
                pass

    def _append(self, data: bytes, batch: Batch) -> None:
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

    def _make_durable(self) -> None:
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

    def _start_timer(self) -> None:
        stop = threading.Event()
        self._stop = stop

        def run() -> None:
            while not stop.wait(contract.FLUSH_INTERVAL_S):
                try:
                    self.flush()
                except OSError as err:
                    warn_once("cannot append to the spool %s: %s (will retry)" % (self.metrics_file, err))

        self._thread = threading.Thread(target=run, name="outpost-logger-flush", daemon=True)
        self._thread.start()
        mp_util = sys.modules.get("multiprocessing.util")
        if self._pid_forked and mp_util is not None:
            # A multiprocessing child leaves through os._exit(): atexit does not run, its finalizers do.
            mp_util.Finalize(self, SpoolAppender._flush_at_exit, args=(self,), exitpriority=100)

    def _flush_at_exit(self, timeout: float = -1) -> None:
        if os.getpid() != self._pid:
            return
        try:
            self.flush(timeout)
        except Exception as err:  # nothing can be retried at exit; say what is lost
            sys.stderr.write("outpost: could not append buffered metrics to %s: %s\n" % (self.metrics_file, err))

    def _flush_on_sigterm(self) -> None:
        """SIGTERM (`outpost run` relaying a stop, Pool.terminate()) skips atexit: flush, then die of it as before.

        Only where SIGTERM still has its default action, and only from the main thread (Python's rule)."""

        def on_sigterm(signum: int, _frame: Optional[FrameType]) -> None:
            if self._flushing == threading.get_ident():
                # We interrupted our own flush (e.g. a Pool worker's exit): let it finish, then die.
                self._deferred_signal = signum
                return
            # Another thread may be mid-flush: wait for it a while rather than deadlock.
            self._flush_at_exit(timeout=1.0)
            die_of(signum)

        try:
            if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
                signal.signal(signal.SIGTERM, on_sigterm)
        except (ValueError, OSError, AttributeError):
            pass

    def _flushing_ends_signal(self) -> bool:
        signum, self._deferred_signal = self._deferred_signal, None
        if signum is not None:
            die_of(signum)
        return True

    # -- fork: the child starts empty; the parent's lines are the parent's to write ------------

    def _reset_after_fork(self) -> None:
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._lines = []
        self._bytes = 0
        self._batch = Batch()
        self._thread = None
        self._stop = None
        self._fd = None
        self._pid = os.getpid()
        self._pid_forked = False
        self._flushing = None
        self._deferred_signal = None
        self._last_error = None

    def _before_fork(self) -> None:
        self._write_lock.acquire()
        self._lock.acquire()
        # Written before the fork, so the parent's earlier lines precede the child's.
        if self._lines:
            data = "".join(self._lines).encode("utf-8")
            try:
                self._append(data, self._batch)
                self._lines, self._bytes, self._batch = [], 0, Batch()
            except OSError:
                pass

    def _after_fork_parent(self) -> None:
        self._lock.release()
        self._write_lock.release()

    def _after_fork_child(self) -> None:
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


def die_of(signum: int) -> None:
    """The signal's default action, as if we had never caught it."""
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
