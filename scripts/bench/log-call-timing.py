"""Timing for the log-call benchmark (run by log-call.bench.ts): prints JSON, microseconds per call.

argv: calls per round, rounds, the file for the raw baseline. Each figure is the CPU time of the
process (user + system: the helper runs no thread of its own) in the best round, so that other
work on the machine does not count; "log_wall_us" is the wall-clock time of that round.
"""
import json
import os
import sys
import time

import outpost_logger

N = int(sys.argv[1])
ROUNDS = int(sys.argv[2])
RAW_FILE = sys.argv[3]


def per_call(fn):
    best, wall = float("inf"), float("inf")
    for _ in range(ROUNDS):
        start, start_wall = time.process_time(), time.perf_counter()
        fn()
        cpu = (time.process_time() - start) / N * 1e6
        if cpu < best:
            best, wall = cpu, (time.perf_counter() - start_wall) / N * 1e6
    return best, wall


def in_memory():
    # The same line, serialized the same way, pushed onto a list: what logging costs at the least.
    lines = []
    prefix = '{"name":%s,"value":' % json.dumps("loss")
    for i in range(N):
        lines.append('%s%r,"step":%d,"time":%r}\n' % (prefix, i * 0.001, i, time.time()))


def raw_write():
    # A JSON line written by hand, one write(2) each: what a crash-proof program does without a helper.
    fd = os.open(RAW_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for i in range(N):
            os.write(fd, (json.dumps({"name": "loss", "value": i * 0.001, "step": i, "time": time.time()}) + "\n").encode())
    finally:
        os.close(fd)


logger = outpost_logger.get_logger()


def logging():
    log = logger.log
    for i in range(N):
        log("loss", i * 0.001, step=i)
    logger.flush()


log_us, log_wall_us = per_call(logging)
result = {"log_us": log_us, "log_wall_us": log_wall_us, "memory_us": per_call(in_memory)[0],
          "raw_write_us": per_call(raw_write)[0]}
print(json.dumps(result))
