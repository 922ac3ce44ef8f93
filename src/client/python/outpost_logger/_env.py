"""What `outpost run` hands the process: the OUTPOST_* variables naming the run, and yes/no settings."""

from __future__ import annotations

import json
import os
from typing import Mapping, NamedTuple, Optional

from . import _contract as contract
from ._warn import warn_once

_YES = ("1", "true", "yes", "on")
_NO = ("", "0", "false", "no", "off")


class RunTarget(NamedTuple):
    """Where a run's lines and files go: its spool, its outputs/ folder, and its id."""

    metrics_file: str
    outputs_dir: str
    run_id: str


def target_from_env(environ: Mapping[str, str]) -> Optional[RunTarget]:
    """The run named by the environment, or None outside `outpost run`."""
    metrics_file = environ.get(contract.ENV_METRICS_FILE)
    if not metrics_file:
        return None
    run_id = environ.get(contract.ENV_RUN_ID) or os.path.basename(os.path.dirname(os.path.abspath(metrics_file)))
    return RunTarget(metrics_file, environ.get(contract.ENV_OUTPUTS_DIR) or "outputs", run_id)


def env_flag(name: str, default: bool, environ: Mapping[str, str] = os.environ) -> bool:
    """A yes/no variable (unset: `default`); anything else is said once and the default kept (a typo must not kill a
    training job)."""
    raw = environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _YES:
        return True
    if value in _NO:
        return False
    warn_once("%s=%s is not one of 1, true, yes, on, 0, false, no, off; wait() stays %s"
              % (name, json.dumps(raw), "strict" if default else "not strict"))
    return default
