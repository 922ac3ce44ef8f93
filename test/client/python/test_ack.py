"""_ack: the ack watermark and agent.json, read as untrusted files; what a wait() says when it times out."""

import json
import os
import subprocess

from outpost_logger import _contract
from outpost_logger._ack import (AckTimeoutError, agent_status, covers, mark_key, poll_watermark, progress,
                                 read_watermark, timeout_error, what_text)
from outpost_logger._spool import Batch


def batch(end, ino):
    b = Batch()
    b.end, b.ino = end, ino
    return b


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return str(path)


def test_the_watermark_is_a_dict_or_none_whatever_the_file_holds(tmp_path):
    ack = str(tmp_path / ("metrics.jsonl" + _contract.ACK_SUFFIX))
    assert read_watermark(ack) is None  # absent
    for text in ["", '{"ino": 1, "off', "[1, 2]", "7", "[" * 100000 + "]" * 100000]:
        assert read_watermark(write(ack, text)) is None
    mark = {"stream": "s1", "ino": 5, "offset": 120, "line": 3, "time": "now"}
    assert read_watermark(write(ack, json.dumps(mark))) == mark


def test_a_watermark_covers_a_batch_of_its_spool_file_that_ends_by_its_offset():
    mark = {"ino": 5, "offset": 120}
    assert covers(mark, batch(120, 5))
    assert covers(mark, batch(100, 5))
    assert not covers(mark, batch(121, 5))
    assert not covers(mark, batch(100, 6))  # another spool file (rotated, recreated)
    assert not covers(None, batch(0, 5))
    assert not covers({"ino": 5, "offset": "120"}, batch(0, 5))  # an offset that is no integer is none
    assert not covers({"ino": 5, "offset": True}, batch(0, 5))
    assert mark_key(None) == ()
    assert mark_key(mark) == (5, 120)
    assert mark_key({"ino": 5}) == (5, -1)


def test_progress_and_what_a_wait_is_for_read_as_a_person_would():
    assert progress(None, batch(10, 5)) == "nothing acknowledged yet"
    assert progress({"ino": 4, "offset": 9}, batch(10, 5)) == "the acknowledgements are for an older spool file"
    assert progress({"ino": 5, "offset": 9}, batch(10, 5)) == "acknowledged up to byte 9, the line ends by byte 10"
    assert what_text("loss") == "metric 'loss'"
    assert what_text(("a", "b")) == "metrics ['a', 'b']"
    assert what_text(None) == "everything logged so far"


def test_polling_returns_at_once_when_covered_and_after_the_timeout_when_not(tmp_path):
    ack = write(tmp_path / "m.ack", json.dumps({"ino": 5, "offset": 50}))
    assert poll_watermark(ack, batch(50, 5), timeout=None) == (True, {"ino": 5, "offset": 50})
    assert poll_watermark(ack, batch(51, 5), timeout=0.01) == (False, {"ino": 5, "offset": 50})


def test_agent_json_names_a_live_agent_or_says_why_there_is_none(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    agent = str(run / _contract.AGENT_FILE)
    assert agent_status([str(run)]) == (False, "no %s" % agent)
    write(agent, json.dumps({"pid": os.getpid(), "server": "http://127.0.0.1:9"}))
    assert agent_status([str(run)]) == (True, "pid %d, server http://127.0.0.1:9" % os.getpid())
    write(agent, json.dumps({"pid": os.getpid(), "server": ["x"]}))
    assert agent_status([str(run)]) == (True, "pid %d, server unknown" % os.getpid())
    for text in ['{"pid": true}', '{"pid": %d}' % 2 ** 70, '{"pid": 0}', '{"pid": "12"}']:
        write(agent, text)
        assert agent_status([str(run)]) == (False, "%s names no pid" % agent)
    write(agent, '{"pid": ' + "[" * 100000 + "]" * 100000 + "}")
    running, detail = agent_status([str(run)])
    assert not running and detail.startswith("%s is unreadable (RecursionError: " % agent)
    write(agent, "[]")
    assert agent_status([str(run)])[1].startswith("%s is unreadable (TypeError: " % agent)
    exited = subprocess.Popen(["true"])
    exited.wait()
    write(agent, json.dumps({"pid": exited.pid}))
    assert agent_status([str(run)]) == (False, "%s names pid %d, which has exited (killed?)" % (agent, exited.pid))


def test_the_first_folder_holding_agent_json_decides(tmp_path):
    beside, by_id = tmp_path / "beside", tmp_path / "by-id"
    beside.mkdir()
    by_id.mkdir()
    write(by_id / _contract.AGENT_FILE, json.dumps({"pid": os.getpid(), "server": "s"}))
    assert agent_status([str(beside), str(by_id)]) == (True, "pid %d, server s" % os.getpid())


def test_a_timeout_says_whether_an_agent_runs_and_how_to_start_one():
    none = timeout_error("run-1", "/r/metrics.jsonl", batch(10, 5), "loss", 0.05, None, False, "no /r/agent.json")
    assert isinstance(none, AckTimeoutError) and isinstance(none, TimeoutError)
    assert none.agent_running is False
    assert str(none) == ("timed out after 0.05 s waiting for the service to acknowledge metric 'loss' (/r/metrics.jsonl: "
                         "nothing acknowledged yet): no agent is running for run run-1 (no /r/agent.json); start the "
                         "program with \"outpost run\", or run \"outpost agent --run run-1\" beside it, or \"outpost "
                         "sync\" afterwards")
    live = timeout_error("run-1", "/r/metrics.jsonl", batch(10, 5), None, 1, {"ino": 5, "offset": 3}, True, "pid 7, server s")
    assert live.agent_running is True
    assert str(live).endswith("everything logged so far (/r/metrics.jsonl: acknowledged up to byte 3, the line ends by "
                              "byte 10): an agent is running (pid 7, server s) but has not had it acknowledged; the "
                              "service may be down or slow, the line is safe in the spool")
