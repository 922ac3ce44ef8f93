"""_offline: what an offline run's folder records (run.json, files.json, exit.json) for `outpost sync`."""

import json
import os
import re
import socket
import sys
import threading

from outpost_logger import _contract
from outpost_logger._offline import (ExitRecord, command_line, exit_status, files_state, new_run_id,
                                     preexisting_outputs, printable, run_info)

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_a_run_id_is_shaped_as_the_agents_for_the_default_experiment():
    assert re.fullmatch(r"default_1764000000250_[0-9a-f]{4}", new_run_id(1764000000.25))


def test_run_json_records_the_run_and_the_facts_outpost_sync_registers_it_with():
    info = run_info("default_1_abcd", "/p/.outpost/runs/default_1_abcd/metrics.jsonl", "/p/outputs",
                    "2026-01-02T03:04:05.678Z", ["/p/train.py", "--lr", "it's 0.1"], "/usr/bin/python3.11", "/p", None)
    assert info == {
        "id": "default_1_abcd",
        "experiment": _contract.DEFAULT_EXPERIMENT,
        "name": "train.py",
        "server": None,
        "outputsDir": "/p/outputs",
        "metricsFile": "/p/.outpost/runs/default_1_abcd/metrics.jsonl",
        "createdTime": "2026-01-02T03:04:05.678Z",
        "facts": {
            "startTime": "2026-01-02T03:04:05.678Z",
            "command": "python3.11 /p/train.py --lr 'it'\\''s 0.1'",
            "cwd": "/p",
            "host": socket.gethostname(),
        },
    }
    # No script (python -c, an embedded interpreter), no executable.
    bare = run_info("r", "m", "o", "t", [""], "", "/p", "http://h:1")
    assert (bare["name"], bare["server"], bare["facts"]["command"]) == ("python", "http://h:1", "python ''")


def test_the_command_line_is_quoted_as_the_agents_commandLine_quotes_it():
    assert command_line(["python3", "train.py", "--lr=0.1", "a/b.c:d,e@f%g+h-i"]) == "python3 train.py --lr=0.1 a/b.c:d,e@f%g+h-i"
    assert command_line(["x", "two words", "it's", "", "$HOME", "é"]) == "x 'two words' 'it'\\''s' '' '$HOME' 'é'"
    assert re.fullmatch(_contract.PLAIN_ARG, "abc") and not re.fullmatch(_contract.PLAIN_ARG, "a b")


def test_bytes_that_are_not_utf8_are_written_as_escapes_never_as_lone_surrogates():
    assert printable("plain é") == "plain é"
    assert printable(os.fsdecode(b"caf\xe9")) == "caf\\xe9"
    assert printable("\ud800") == "\\ud800"
    json.dumps(printable(os.fsdecode(b"\xff")), ensure_ascii=False).encode("utf-8")


def test_files_json_lists_what_outputs_holds_at_the_start_but_no_upload_temp_files_or_links(tmp_path):
    outputs = tmp_path / "outputs"
    (outputs / "sub").mkdir(parents=True)
    (outputs / "old.txt").write_text("earlier")
    (outputs / "sub" / "deep.bin").write_bytes(b"\0" * 5)
    (outputs / (_contract.UPLOAD_TEMP_PREFIX + "123-abcdef")).write_text("half")
    os.symlink(str(outputs / "old.txt"), str(outputs / "link.txt"))
    files = preexisting_outputs(str(outputs))
    assert sorted(files) == ["old.txt", "sub/deep.bin"]
    sec, nsec = divmod(os.stat(str(outputs / "old.txt")).st_mtime_ns, 10 ** 9)
    # Node's mtimeMs, computed as Node computes it, so the agent sees the file unchanged.
    assert files["old.txt"] == {"size": 7, "mtimeMs": sec * 1000 + nsec / 1e6, "state": "preexisting"}
    assert files_state(files) == {"version": _contract.FILES_STATE_VERSION, "files": files}
    assert preexisting_outputs(str(tmp_path / "none")) == {}


def test_the_exit_status_is_the_one_python_gives_sys_exit():
    assert [exit_status(c) for c in [None, 0, 3, 256 + 2, True, False, "giving up"]] == [0, 0, 3, 2, 1, 0, 1]


def test_exit_json_says_completed_failed_or_the_main_threads_exit_code(monkeypatch):
    record = ExitRecord()
    end = record.end()
    assert (end["status"], end["exitCode"]) == ("completed", 0)
    assert ISO.match(end["endTime"])
    record.note_exit(3)
    assert (record.end()["status"], record.end()["exitCode"]) == ("failed", 3)
    other = threading.Thread(target=record.note_exit, args=(0,))
    other.start()
    other.join()
    assert record.end()["exitCode"] == 3  # sys.exit() in a thread ends the thread only
    uncaught = RuntimeError("boom")
    monkeypatch.setattr(sys, "last_value", uncaught, raising=False)
    monkeypatch.setattr(sys, "last_exc", uncaught, raising=False)
    assert (ExitRecord().end()["status"], record.end()["status"], record.end()["exitCode"]) == ("completed", "failed", 1)
