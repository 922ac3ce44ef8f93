"""Whether appends to the spool need flock: only on a filesystem that may not make each O_APPEND write atomic.

POSIX makes the seek to the end and the write of an O_APPEND write(2) one step, and Linux's local
filesystems do so; network and FUSE filesystems may not (NFS appends from two hosts can overwrite
each other). flock costs two system calls per line, 1.2 us of a 3 us log() here, so it is taken
where it may matter: a filesystem not known to be local, and wherever the type cannot be read (no
/proc/self/mountinfo: macOS, the BSDs).
"""

from __future__ import annotations

import os
from typing import Optional

# Local filesystems whose appends are atomic (the inode's lock covers finding the end and writing).
_ATOMIC_APPENDS = frozenset([
    "ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", "zfs", "bcachefs", "jfs", "reiserfs", "nilfs2",
    "tmpfs", "ramfs", "overlay", "vfat", "exfat", "ntfs3", "hfsplus",
])

_MOUNTINFO = "/proc/self/mountinfo"


def appends_need_lock(path: str) -> bool:
    """True unless `path` is on a local filesystem known to make appends atomic."""
    try:
        with open(_MOUNTINFO, encoding="utf-8", errors="surrogateescape") as f:
            mountinfo = f.read()
    except OSError:
        return True
    return filesystem_of(os.path.realpath(path), mountinfo) not in _ATOMIC_APPENDS


def filesystem_of(real_path: str, mountinfo: str) -> Optional[str]:
    """The type of the filesystem mounted deepest above `real_path` (absolute, links resolved), from the text
    of /proc/self/mountinfo; the last of mounts stacked on one point. None if no line fits."""
    best, found = -1, None
    for line in mountinfo.splitlines():
        left, sep, right = line.partition(" - ")
        fields = left.split(" ")
        if not sep or len(fields) < 5 or not right:
            continue
        mount = _unescape(fields[4])
        inside = real_path == mount or real_path.startswith(mount if mount.endswith("/") else mount + "/")
        if inside and len(mount) >= best:
            best, found = len(mount), right.split(" ", 1)[0]
    return found


def _unescape(field: str) -> str:
    """mountinfo writes a space, tab, newline and backslash in a path as \\040, \\011, \\012 and \\134."""
    if "\\" not in field:
        return field
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field
