"""The helper's warnings on stderr, each said once: a training loop must not repeat one every step."""

from __future__ import annotations

import sys

_warned: set[str] = set()
_warned_not_acknowledged: list[bool] = []


def warn_once(message: str) -> None:
    """Says `message` on stderr unless this process said it already."""
    if message not in _warned:
        _warned.add(message)
        sys.stderr.write("outpost: %s\n" % message)


def warn_not_acknowledged(message: str) -> None:
    """Once per process, whatever the metric: a loop waiting each epoch would say it every epoch."""
    if not _warned_not_acknowledged:
        _warned_not_acknowledged.append(True)
        sys.stderr.write("outpost: %s\n" % message)
