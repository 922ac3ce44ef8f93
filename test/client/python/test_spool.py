"""The spool appender: each log() appends its line itself; flock where appends may not be atomic; a moved spool is followed."""

import fcntl
import json
import os
import threading

import pytest

from outpost_logger import _contract, _spool
from outpost_logger._appends import appends_need_lock, filesystem_of
from outpost_logger._logger import Logger


def lines(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f.read().splitlines()]


@pytest.fixture
def spool(tmp_path):
    return str(tmp_path / "run" / "metrics.jsonl")


def new_logger(spool):
    return Logger(spool, os.path.join(os.path.dirname(spool), "outputs"), "run-1")


def test_each_log_call_has_appended_its_line_when_it_returns(spool):
    logger = new_logger(spool)
    for i in range(3):
        logger.log("loss", i * 0.5, step=i)
        assert [line["step"] for line in lines(spool)] == list(range(i + 1))
    logger.log_metrics({"a": 1, "b": 2}, step=3)
    logger.log("n", 7)  # an int, and no step: the general path
    assert [line.get("name", "metrics") for line in lines(spool)] == ["loss", "loss", "loss", "metrics", "n"]
    assert lines(spool)[0] == {"name": "loss", "value": 0.0, "step": 0, "time": lines(spool)[0]["time"]}


def test_a_spool_moved_away_or_removed_is_followed(spool, monkeypatch):
    monkeypatch.setattr(_contract, "SPOOL_CHECK_S", 0.0)  # the path is checked at every line: no clock in the test
    logger = new_logger(spool)
    first = logger.log("a", 1.0)
    os.rename(spool, spool + ".old")
    logger.log("b", 2.0)
    os.unlink(spool)
    logger.log("c", 3.0)
    assert [line["name"] for line in lines(spool + ".old")] == ["a"]
    assert [line["name"] for line in lines(spool)] == ["c"]
    # The first line's handle still names the file it went to, ending where that file ends.
    old = logger._resolve(first._batch)
    assert (old.ino, old.end) == (os.stat(spool + ".old").st_ino, os.stat(spool + ".old").st_size)


def test_a_handle_is_bounded_by_the_spool_as_it_stands_when_waited_on(spool):
    logger = new_logger(spool)
    handle = logger.log("a", 1.0)
    st = os.stat(spool)
    resolved = logger._resolve(handle._batch)
    assert (resolved.ino, resolved.end) == (st.st_ino, st.st_size)
    logger.log("b", 2.0)
    assert logger._resolve(handle._batch).end == os.stat(spool).st_size  # an upper bound, as a batch always was


def test_where_appends_may_not_be_atomic_each_line_is_written_under_flock(spool, monkeypatch):
    monkeypatch.setattr(_spool, "appends_need_lock", lambda path: True)  # as on NFS
    logger = new_logger(spool)
    logger.log("first", 1.0)
    other = os.open(spool, os.O_WRONLY | os.O_APPEND)  # another open file description: its flock excludes ours
    fcntl.flock(other, fcntl.LOCK_EX)
    writer = threading.Thread(target=lambda: logger.log("second", 2.0))
    try:
        writer.start()
        writer.join(0.2)
        assert writer.is_alive()  # waiting for the lock
        assert [line["name"] for line in lines(spool)] == ["first"]
    finally:
        fcntl.flock(other, fcntl.LOCK_UN)
        os.close(other)
    writer.join(10)
    assert [line["name"] for line in lines(spool)] == ["first", "second"]


def test_on_a_local_filesystem_no_flock_is_taken(spool):
    logger = new_logger(spool)
    logger.log("first", 1.0)
    if appends_need_lock(spool):
        pytest.skip("the temporary folder is not on a filesystem known to append atomically")
    other = os.open(spool, os.O_WRONLY | os.O_APPEND)
    fcntl.flock(other, fcntl.LOCK_EX)
    try:
        logger.log("second", 2.0)  # would block for ever under flock
    finally:
        os.close(other)
    assert [line["name"] for line in lines(spool)] == ["first", "second"]


MOUNTINFO = r"""22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
23 22 0:21 / /proc rw,nosuid - proc proc rw
24 22 0:5 / /mnt/shared rw,relatime - nfs4 server:/export rw,vers=4.2
25 24 0:6 / /mnt/shared/local rw - tmpfs tmpfs rw
26 22 0:7 / /mnt/with\040space rw - cifs //host/share rw
27 22 0:8 / /home rw - xfs /dev/sdb1 rw
28 22 0:9 / /home rw - fuse.sshfs host:/home rw
"""


@pytest.mark.parametrize("path,fstype", [
    ("/", "ext4"),
    ("/var/lib/x", "ext4"),
    ("/mnt/shared/run/metrics.jsonl", "nfs4"),
    ("/mnt/shared/local/metrics.jsonl", "tmpfs"),  # the deepest mount holding it
    ("/mnt/sharedother/metrics.jsonl", "ext4"),  # a prefix of the name is not a parent folder
    ("/mnt/with space/metrics.jsonl", "cifs"),  # mountinfo escapes the space
    ("/home/me/metrics.jsonl", "fuse.sshfs"),  # the last mount stacked on a point is the one seen
])
def test_the_filesystem_of_a_path_is_the_deepest_mount_above_it(path, fstype):
    assert filesystem_of(path, MOUNTINFO) == fstype


def test_unknown_or_unreadable_filesystems_take_the_lock(monkeypatch, tmp_path):
    assert filesystem_of("/x", "garbage\n\n1 2 3 - \n") is None
    monkeypatch.setattr("outpost_logger._appends._MOUNTINFO", str(tmp_path / "absent"))
    assert appends_need_lock(str(tmp_path)) is True
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(MOUNTINFO)
    monkeypatch.setattr("outpost_logger._appends._MOUNTINFO", str(mountinfo))
    monkeypatch.setattr("os.path.realpath", lambda p: p)
    assert appends_need_lock("/mnt/shared/run/metrics.jsonl") is True
    assert appends_need_lock("/mnt/shared/local/metrics.jsonl") is False
    assert appends_need_lock("/proc/metrics.jsonl") is True
