"""Timing for the log-call benchmark (run by log-call.bench.ts): prints JSON, microseconds per call."""
import json
import sys
import time

import outpost_logger

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000


def per_call(fn):
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) / N * 1e6


def baseline():
    # The same line, serialized the same way, pushed onto a list: what logging costs at the least.
    lines = []
    prefix = '{"name":%s,"value":' % json.dumps("loss")
    for i in range(N):
        lines.append('%s%r,"step":%d,"time":%r}\n' % (prefix, i * 0.001, i, time.time()))


logger = outpost_logger.get_logger()


def logging():
    log = logger.log
    for i in range(N):
        log("loss", i * 0.001, step=i)
    logger.flush()


result = {"baseline_us": per_call(baseline), "log_us": per_call(logging)}
print(json.dumps(result))
