"""outpost's Python logger: the Workbench logging API on the outpost metric spool. Stdlib only.

    from outpost_logger import get_logger
    logger = get_logger()
    logger.log("simple integer value", 7)
    logger.log("chart data points", [1, 3, 5, 10, 6, 4])
    logger.log("my metric 1", 1).wait()          # returns once the service has stored it (after 60 s
                                                 # of silence, if an agent runs: once it is fsynced)
    logger.log_metrics({"loss": 0.25, "acc": 0.91}, step=10)
    logger.log_params({"lr": 0.01, "model": {"depth": 4}})   # a param keeps its first value
    logger.set_tags({"team": "vision"})
    logger.upload("artifact/path", "contents")   # written to outputs/artifact/path

Under `outpost run` the OUTPOST_* variables name the run. Without them, lines go to an offline
run folder (.outpost/runs/<id>/) that `outpost sync` ships later; a warning says so once (why it
does not start an agent as the TypeScript logger does: see _process).

Install it with pip install "$(outpost python-path)", or put that folder on PYTHONPATH
(`outpost run` does it), or copy the outpost_logger folder beside your code.

The modules, each with one job: _contract (the values shared with outpost's TypeScript side,
generated), _encode (values to JSON), _meta (the params and tags lines), _spool (the spool
appender: a write(2) per line), _appends (whether a filesystem needs flock for appends), _ack
(the ack watermark and agent.json), _upload (files into outputs/), _offline (the offline run
folder), _logger (Logger, LogHandle), _process (get_logger).
"""

from __future__ import annotations

import sys
import types

from . import _contract
from ._ack import AckTimeoutError
from ._contract import (ENV_METRICS_FILE, ENV_OUTPUTS_DIR, ENV_RUN_ID, ENV_SERVER, ENV_STRICT_WAIT, FLUSH_INTERVAL_S,
                        FLUSH_MAX_BYTES, MAX_FILE_BYTES, MAX_HELD_BYTES, MAX_LINE_BYTES, MAX_METRICS_PER_LINE,
                        MAX_NAME_CHARS, MAX_PATH_CHARS, SPOOL_CHECK_S, UPLOAD_TEMP_PREFIX, WAIT_TIMEOUT_S)
from ._logger import LogHandle, Logger
from ._process import get_azureml_logger, get_logger

__all__ = ["get_logger", "get_azureml_logger", "Logger", "LogHandle", "AckTimeoutError"]
__version__ = _contract.VERSION

# The constants above, as a script may set them (outpost_logger.FLUSH_INTERVAL_S = 0.01): the
# modules read them from _contract when they use them.
_SETTABLE = frozenset(["ENV_METRICS_FILE", "ENV_OUTPUTS_DIR", "ENV_RUN_ID", "ENV_SERVER", "ENV_STRICT_WAIT",
                       "FLUSH_INTERVAL_S", "FLUSH_MAX_BYTES", "MAX_FILE_BYTES", "MAX_HELD_BYTES", "MAX_LINE_BYTES",
                       "MAX_METRICS_PER_LINE", "MAX_NAME_CHARS", "MAX_PATH_CHARS", "SPOOL_CHECK_S", "UPLOAD_TEMP_PREFIX",
                       "WAIT_TIMEOUT_S"])


class _Package(types.ModuleType):
    """When the helper was one file, setting one of its constants changed what it did: it still does."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in _SETTABLE:
            setattr(_contract, name, value)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
