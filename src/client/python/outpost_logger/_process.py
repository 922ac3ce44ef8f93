"""The process's logger: get_logger() makes one per process, shared by every caller.

Under `outpost run` (or beside `outpost agent`) the OUTPOST_* variables name the run and its
spool. Outside them the helper logs to an offline run (.outpost/runs/<id>/ in the project
folder) and warns once; `outpost sync` ships it later. The TypeScript logger, in the same
situation, starts an agent inside the program instead. The difference is on purpose: the
TypeScript logger ships inside the Node package that carries the agent, while this helper is
stdlib-only and runs where neither Node nor outpost may be installed (a cluster node, a
notebook, a container holding Python alone); starting an agent would need both there. What it
writes is what the agent needs to pick the run up: the spool, run.json with the run's facts,
files.json and exit.json, so `outpost sync` registers it with its real start, command, folder,
host and outcome.
"""

from __future__ import annotations

import os
import threading
from typing import Optional

from ._env import target_from_env
from ._logger import Logger
from ._offline import start_offline_run

_shared: Optional[Logger] = None
_shared_lock = threading.Lock()


def get_logger() -> Logger:
    """The process's logger. Under `outpost run` it writes to the run's spool; otherwise to an offline run."""
    global _shared
    with _shared_lock:
        if _shared is None:
            target = target_from_env(os.environ)
            if target is not None:
                _shared = Logger(*target)
            else:
                _shared = Logger(*start_offline_run(os.getcwd()), offline=True)
        return _shared


get_azureml_logger = get_logger  # the Workbench name, so old scripts change only their import
