"""The offline run: a run folder made by the helper itself outside `outpost run`, for `outpost sync` to ship.

It holds what the agent would have written at its start: run.json (the run, and the facts
`outpost sync` registers it with), files.json (what outputs/ held before the run), and at the
end exit.json (how the program ended; without it `outpost sync` marks the run killed).
"""

from __future__ import annotations

import atexit
import functools
import os
import re
import socket
import sys
import threading
import time
import uuid
from typing import Any, Optional

from . import _contract as contract
from ._env import RunTarget
from ._run_folder import find_project_dir, iso_now, run_dir_of, write_json_atomic

_PLAIN_ARG = re.compile(contract.PLAIN_ARG)


def new_run_id(now_s: float) -> str:
    """`default_<ms>_<4 hex>`, as newRunId() of src/run-folder makes one for the default experiment."""
    return "%s_%d_%s" % (contract.DEFAULT_EXPERIMENT, now_s * 1000, uuid.uuid4().hex[:4])


def start_offline_run(cwd: str) -> RunTarget:
    """Makes an offline run folder in the project's .outpost/ (the nearest above `cwd`), and says so on stderr.

    The variables of the run are set for child processes, so they log into the same run."""
    run_id = new_run_id(time.time())
    run_dir = run_dir_of(find_project_dir(cwd), run_id)
    os.makedirs(run_dir, exist_ok=True)
    metrics_file = os.path.join(run_dir, contract.SPOOL_FILE)
    outputs_dir = os.path.abspath(os.path.join(cwd, "outputs"))
    info = run_info(run_id, metrics_file, outputs_dir, iso_now(), sys.argv, sys.executable, cwd,
                    os.environ.get(contract.ENV_SERVER) or None)
    write_json_atomic(os.path.join(run_dir, contract.RUN_FILE), info, indent=2)
    write_json_atomic(os.path.join(run_dir, contract.FILES_STATE_FILE), files_state(preexisting_outputs(outputs_dir)))
    os.environ[contract.ENV_RUN_ID] = run_id
    os.environ[contract.ENV_METRICS_FILE] = metrics_file
    os.environ[contract.ENV_OUTPUTS_DIR] = outputs_dir
    record_exit_at_exit(run_dir)
    sys.stderr.write("outpost: not under `outpost run` (%s is not set): logging offline to %s; "
                     "ship it with `outpost sync`, or start the program with `outpost run -- python ...`\n"
                     % (contract.ENV_METRICS_FILE, run_dir))
    return RunTarget(metrics_file, outputs_dir, run_id)


def run_info(run_id: str, metrics_file: str, outputs_dir: str, created: str, argv: list[str], executable: str,
             cwd: str, server: Optional[str]) -> dict[str, Any]:
    """run.json of an offline run (RunFolderInfo in src/run-folder/layout.ts), with the facts `outpost sync`
    registers the run with, later: its real start, and where it came from."""
    return {
        "id": run_id,
        "experiment": contract.DEFAULT_EXPERIMENT,
        "name": os.path.basename(argv[0]) if argv and argv[0] else "python",
        "server": server,
        "outputsDir": outputs_dir,
        "metricsFile": metrics_file,
        "createdTime": created,
        "facts": {
            "startTime": created,
            "command": command_line([os.path.basename(executable or "") or "python"] + list(argv)),
            "cwd": printable(cwd),
            "host": printable(socket.gethostname()),
        },
    }


def command_line(argv: list[str]) -> str:
    """A shell-readable rendering of argv, as the agent's commandLine() (src/agent/run-facts.ts)."""
    return " ".join(a if _PLAIN_ARG.fullmatch(a) else "'%s'" % a.replace("'", "'\\''") for a in map(printable, argv))


def printable(text: str) -> str:
    """Valid Unicode for the service: bytes that are not UTF-8 (kept by Python as lone surrogates) as \\xNN."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def preexisting_outputs(outputs_dir: str) -> dict[str, dict[str, Any]]:
    """What outputs/ holds now, as files.json's entries: an earlier run's files, which the agent does not upload.

    Without them, `outpost sync` (the agent's first start, later) would take this run's files for old ones."""
    files: dict[str, dict[str, Any]] = {}
    for folder, _dirs, names in os.walk(outputs_dir):
        for name in names:
            if name.startswith(contract.UPLOAD_TEMP_PREFIX):  # half-written by an upload(); the agent skips them too
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
    return files


def files_state(files: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """files.json (FilesStateFile in src/run-folder/files-state.ts)."""
    return {"version": contract.FILES_STATE_VERSION, "files": files}


class ExitRecord:
    """How the program is ending, for exit.json.

    An uncaught exception needs no hook of ours: the interpreter stores it in sys.last_value (and
    sys.last_exc from 3.12) before it calls sys.excepthook, whatever hook the program set, and
    atexit runs after; so sys.excepthook is left alone. The exit code has no such place: SystemExit
    is handled and cleared before atexit runs, and neither a hook nor an audit event sees it (3.9 to
    3.13; 3.12's sys.monitoring could watch every raise, at a cost to each exception the program
    raises). So sys.exit is wrapped to note its code (as wandb does); a bare `raise SystemExit(n)`
    bypasses the wrapper and is recorded as completed."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        # An exception that was uncaught before (an earlier error in an interactive session) is not this one.
        self.earlier_error = _last_uncaught()
        self.exit_code: list[object] = []

    def note_exit(self, code: object) -> None:
        # sys.exit() in another thread ends only that thread, not the program.
        if threading.current_thread() is threading.main_thread():
            self.exit_code.append(code)

    def end(self) -> dict[str, Any]:
        """exit.json: {"status", "exitCode", "endTime"} (RunEnd in src/run-folder/run-end.ts)."""
        error = _last_uncaught()
        failed = error is not None and error is not self.earlier_error
        code = 1 if failed else exit_status(self.exit_code[-1] if self.exit_code else None)
        return {"status": "failed" if code else "completed", "exitCode": code, "endTime": iso_now()}


def _last_uncaught() -> Optional[BaseException]:
    error = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
    return error if isinstance(error, BaseException) else None


def record_exit_at_exit(run_dir: str) -> None:
    """exit.json tells `outpost sync` how an offline run ended (see ExitRecord)."""
    record = ExitRecord()
    previous_exit = sys.exit

    @functools.wraps(previous_exit)
    def exit(code: Any = None) -> None:
        record.note_exit(code)
        previous_exit(code)

    sys.exit = exit  # type: ignore[assignment]

    def write() -> None:
        if os.getpid() != record.pid:  # a forked child's exit is not the run's
            return
        try:
            write_json_atomic(os.path.join(run_dir, contract.EXIT_FILE), record.end())
        except OSError:
            pass

    atexit.register(write)


def exit_status(code: object) -> int:
    """The process status Python gives sys.exit(code): None is 0, an int is itself, anything else (a message) is 1."""
    if code is None:
        return 0
    if isinstance(code, int):  # bool too: sys.exit(True) is status 1
        return code & 0xFF
    return 1
