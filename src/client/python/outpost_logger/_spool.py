"""The spool appender: each line is appended by its log() call, one write(2), so a line whose call returned
is in the kernel's hands and survives a SIGKILL of the process.

Writes are whole lines on one O_APPEND descriptor, kept open: POSIX makes each append atomic, so
threads and processes sharing the spool never mix halves of lines; where a filesystem does not
(network ones, see _appends), each write is also taken under flock. The path is checked again every
SPOOL_CHECK_S, so a spool moved away or removed is followed. Lines that cannot be written (a full
disk, say) are held in memory and retried every FLUSH_INTERVAL_S, by flush(), wait() and the end of
the process, however it ends: atexit, SIGTERM (which skips atexit; caught only while lines are
held), a multiprocessing child's os._exit() (its finalizers run). After fork the child opens its own descriptor and holds nothing:
the parent's held lines are written once, by the parent, before the fork.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import time
from types import FrameType
from typing import Callable, Optional

from . import _contract as contract
from ._appends import appends_need_lock
from ._warn import warn_once

try:
    import fcntl
except ImportError:  # Windows: O_APPEND writes are still whole.
    fcntl = None  # type: ignore[assignment]

_monotonic = time.monotonic
_os_write = os.write
_O_APPEND_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)


class Batch:
    """Where lines went: each ends at or before `end` in the spool file with inode `ino`.

    `end` is -1 while it is not known yet: for lines held (not written yet), and for the lines
    written on the open descriptor, which the spool's size bounds when wait() asks (resolved)."""

    __slots__ = ("end", "ino")

    def __init__(self, ino: int = 0, end: int = -1) -> None:
        self.end = end
        self.ino = ino


class SpoolAppender:
    """Appends lines to the spool `metrics_file`; _push() returns the Batch of the line."""

    # Set anew in a forked child (_reset_after_fork).
    _lock: threading.Lock  # the slow path: held lines, opening, resolving
    _held: list[bytes]  # lines not written yet, in order; the first may be the rest of a line begun
    _held_bytes: int
    _held_batch: Batch
    _open_batch: Batch  # the lines written on _fd
    _fd: Optional[int]
    _dev: int
    _flock: bool  # take flock around each write (a filesystem whose appends are not atomic)
    _check_at: float  # time.monotonic() at which the path is checked again
    _thread: Optional[threading.Thread]  # retries held lines
    _pid: int
    _pid_forked: bool
    _finalizer: bool
    _sigterm_caught: bool  # our SIGTERM handler was installed (or tried)
    _flushing: Optional[int]  # thread id holding _lock to write
    _deferred_signal: Optional[int]  # SIGTERM that arrived while we were writing
    _last_error: Optional[BaseException]  # why the last write failed, until one succeeds

    def __init__(self, metrics_file: str) -> None:
        self.metrics_file = os.path.abspath(metrics_file)
        self.run_dir = os.path.dirname(self.metrics_file)
        self.max_held_bytes = contract.MAX_HELD_BYTES
        self._dir_synced = False
        self._sigterm_handler: Optional[Callable[[int, Optional[FrameType]], None]] = None
        self._reset_after_fork()
        atexit.register(self._flush_at_exit)
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(before=self._before_fork, after_in_parent=self._after_fork_parent,
                                after_in_child=self._after_fork_child)

    def _push(self, line: str) -> Batch:
        """Appends `line` now (the common case takes no lock: one append is atomic); holds it if it cannot be."""
        data = line.encode()
        fd = self._fd
        if fd is not None and not self._held and _monotonic() < self._check_at:
            try:
                n = _locked_write(fd, data) if self._flock else _os_write(fd, data)
            except OSError:
                n = 0
            if n == len(data):
                # Read after the write: if the spool was reopened meanwhile, the newer batch bounds it too.
                return self._open_batch
            if n:
                return self._push_slowly(data[n:], True)
        return self._push_slowly(data, False)

    def _push_slowly(self, data: bytes, rest: bool) -> Batch:
        """`data`: a line, or the `rest` of one begun (a short write, on a full disk), which must come next."""
        with self._lock:
            self._flushing = threading.get_ident()
            try:
                if not self._held:
                    try:
                        self._open()
                        data = data[self._write(data):]
                    except OSError as err:
                        self._last_error = err
                    if not data:
                        self._last_error = None
                        return self._open_batch
                    warn_once("cannot append to the spool %s: %s (will retry)" % (self.metrics_file, self._last_error))
                elif rest:  # lines held since were not written: the line begun is finished first
                    self._held.insert(0, data)
                    self._held_bytes += len(data)
                    return self._held_batch
                elif self._held_bytes + len(data) > self.max_held_bytes:
                    raise OSError("cannot log: the spool %s cannot be written (%s), and the %d lines held meanwhile reach "
                                  "the %d-byte cap (MAX_HELD_BYTES)" % (self.metrics_file, self._last_error,
                                                                      len(self._held), self.max_held_bytes))
                self._held.append(data)
                self._held_bytes += len(data)
                if self._thread is None:
                    self._start_retrying()
                if not self._sigterm_caught and threading.current_thread() is threading.main_thread():
                    self._flush_on_sigterm()
                return self._held_batch
            finally:
                self._flushing = None
                if self._deferred_signal:
                    self._flushing_ends_signal()

    # -- writing -------------------------------------------------------------------------------

    def _open(self) -> None:
        """Opens the spool, or again if its path now names another file or none (moved away, removed). Under _lock."""
        self._check_at = time.monotonic() + contract.SPOOL_CHECK_S
        fd = self._fd
        if fd is not None:
            try:
                st = os.stat(self.metrics_file)
                if st.st_ino == self._open_batch.ino and st.st_dev == self._dev:
                    return
            except FileNotFoundError:
                pass
            except OSError:  # cannot tell (a folder made unreadable): go on appending where we are
                return
        os.makedirs(self.run_dir, exist_ok=True)
        new = os.open(self.metrics_file, _O_APPEND_FLAGS, 0o644)
        try:
            st = os.fstat(new)
            flock = fcntl is not None and appends_need_lock(self.metrics_file)
        except BaseException:
            os.close(new)
            raise
        batch, old = Batch(st.st_ino), self._open_batch
        self._dev, self._flock = st.st_dev, flock
        if fd is None:
            self._open_batch = batch
            self._fd = new
            return
        # A thread may be writing on fd right now: it keeps its number, made to name the new file at
        # once (dup2), so no write ever lands in a descriptor reused for something else.
        keep = os.dup(fd)
        try:
            self._open_batch = batch
            os.dup2(new, fd, inheritable=False)
            os.close(new)
            # What was written to the old file ends by its size now. A write still on its way there reads
            # the new batch (set first), which only waits for more.
            old.end = os.fstat(keep).st_size
        finally:
            os.close(keep)

    def _write(self, data: bytes) -> int:
        """Appends `data` on the open descriptor: the bytes written, all unless an error (kept in _last_error) came
        after some. OSError if none could be."""
        fd = self._fd
        assert fd is not None
        done = 0
        view = memoryview(data)
        while done < len(data):  # a regular file takes it in one write; the loop guards a short one
            try:
                done += _locked_write(fd, view[done:]) if self._flock else os.write(fd, view[done:])
            except OSError as err:
                if done == 0:
                    raise
                self._last_error = err
                break
        return done

    def flush(self, timeout: float = -1) -> bool:
        """Appends the lines held (those that could not be written) now; OSError if they still cannot be.

        `timeout` (s) bounds the wait for the lock (False if not obtained); -1 waits for ever."""
        if not self._held:
            return True
        if not self._lock.acquire(timeout=timeout):
            return False
        self._flushing = threading.get_ident()
        try:
            self._write_held()
            return True
        finally:
            self._flushing = None
            self._lock.release()
            if self._deferred_signal:
                self._flushing_ends_signal()

    def _write_held(self) -> None:
        """Writes the held lines in order, FLUSH_MAX_BYTES at a time at most. Under _lock."""
        if not self._held:
            return
        try:
            self._open()
            while self._held:
                count, size = 0, 0
                for line in self._held:
                    if count and size + len(line) > contract.FLUSH_MAX_BYTES:
                        break
                    count, size = count + 1, size + len(line)
                chunk = b"".join(self._held[:count])
                written = self._write(chunk)
                # Lines leave the list only once written: log() in another thread queues behind them.
                if written < len(chunk):
                    self._held[:count] = [chunk[written:]]
                    self._held_bytes -= written
                    raise self._last_error or OSError("short write to %s" % self.metrics_file)
                del self._held[:count]
                self._held_bytes -= len(chunk)
        except OSError as err:
            self._last_error = err
            raise
        self._last_error = None
        assert self._fd is not None
        batch, self._held_batch = self._held_batch, Batch()
        batch.ino, batch.end = self._open_batch.ino, os.fstat(self._fd).st_size

    def _resolve(self, batch: Batch) -> Batch:
        """`batch` with its end known: held lines are written first (OSError if they cannot be)."""
        if batch.end < 0 and batch is self._held_batch:
            self.flush()
        with self._lock:
            if batch.end >= 0 or batch is not self._open_batch or self._fd is None:
                return batch
            # Everything this descriptor wrote ends by its file's size now.
            return Batch(batch.ino, os.fstat(self._fd).st_size)

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

    def _start_retrying(self) -> None:
        """A thread that retries the held lines until none is left. Under _lock."""
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(contract.FLUSH_INTERVAL_S):
                try:
                    self.flush()
                except OSError as err:
                    warn_once("cannot append to the spool %s: %s (will retry)" % (self.metrics_file, err))
                with self._lock:
                    if not self._held:
                        self._thread = None
                        return

        self._thread = threading.Thread(target=run, name="outpost-logger-retry", daemon=True)
        self._thread.start()
        mp_util = sys.modules.get("multiprocessing.util")
        if self._pid_forked and mp_util is not None and not self._finalizer:
            # A multiprocessing child leaves through os._exit(): atexit does not run, its finalizers do.
            mp_util.Finalize(self, SpoolAppender._flush_at_exit, args=(self,), exitpriority=100)
            self._finalizer = True

    def _flush_at_exit(self, timeout: float = -1) -> None:
        if os.getpid() != self._pid:
            return
        try:
            self.flush(timeout)
        except Exception as err:  # nothing can be retried at exit; say what is lost
            sys.stderr.write("outpost: could not append buffered metrics to %s: %s\n" % (self.metrics_file, err))

    def _flush_on_sigterm(self) -> None:
        """SIGTERM (`outpost run` relaying a stop, Pool.terminate()) skips atexit: write the held lines, then die of it.

        Caught only once lines are held, and only where SIGTERM still has its default action, from the
        main thread (Python's rule). Not before: a handler written in Python runs between bytecodes,
        so a SIGTERM that comes just before a blocking wait (a Pool worker about to take its queue's
        lock when terminate() comes) would leave the process waiting for ever."""
        self._sigterm_caught = True

        def on_sigterm(signum: int, _frame: Optional[FrameType]) -> None:
            if self._flushing == threading.get_ident():
                # We interrupted our own write (e.g. a Pool worker's exit): let it finish, then die.
                self._deferred_signal = signum
                return
            # Another thread may be writing: wait for it a while rather than deadlock.
            self._flush_at_exit(timeout=1.0)
            die_of(signum)

        try:
            if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
                signal.signal(signal.SIGTERM, on_sigterm)
                self._sigterm_handler = on_sigterm
        except (ValueError, OSError, AttributeError):
            pass

    def _flushing_ends_signal(self) -> bool:
        signum, self._deferred_signal = self._deferred_signal, None
        if signum is not None:
            die_of(signum)
        return True

    # -- fork: the child has its own descriptor and holds nothing; held lines are the parent's --

    def _reset_after_fork(self) -> None:
        self._lock = threading.Lock()
        self._held = []
        self._held_bytes = 0
        self._held_batch = Batch()
        self._open_batch = Batch()
        self._fd = None
        self._dev = 0
        self._flock = False
        self._check_at = 0.0
        self._thread = None
        self._pid = os.getpid()
        self._pid_forked = False
        self._finalizer = False
        self._sigterm_caught = False
        self._flushing = None
        self._deferred_signal = None
        self._last_error = None

    def _before_fork(self) -> None:
        self._lock.acquire()
        # Written before the fork, so the parent's earlier lines precede the child's.
        try:
            self._write_held()
        except OSError:
            pass

    def _after_fork_parent(self) -> None:
        self._lock.release()

    def _after_fork_child(self) -> None:
        fd, batch = self._fd, self._open_batch
        # A flock belongs to the open file description, which the child shares: it opens its own.
        self._reset_after_fork()
        self._pid_forked = True
        if self._sigterm_handler is not None:  # the child holds nothing: SIGTERM may kill it at once again
            try:
                if signal.getsignal(signal.SIGTERM) is self._sigterm_handler:
                    signal.signal(signal.SIGTERM, signal.SIG_DFL)
            except (ValueError, OSError):
                pass
            self._sigterm_handler = None
        if fd is not None:
            try:
                batch.end = os.fstat(fd).st_size  # the lines written before the fork, for a handle waited on here
                os.close(fd)
            except OSError:
                pass


def _locked_write(fd: int, data: bytes | memoryview) -> int:
    assert fcntl is not None
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        return os.write(fd, data)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def die_of(signum: int) -> None:
    """The signal's default action, as if we had never caught it."""
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
