"""The Python writer of the crash-loss benchmark: one point a millisecond until it is SIGKILLed.

After each call has returned it writes the step to stdout (a pipe, which outlives the process), so
the benchmark knows which points were logged. argv: "helper" (outpost_logger) or "raw" (a JSON
line by hand: write, then flush); the spool is OUTPOST_METRICS_FILE.
"""
import json
import os
import sys
import time

if sys.argv[1] == "helper":
    import outpost_logger

    log = outpost_logger.get_logger().log
else:
    spool = open(os.environ["OUTPOST_METRICS_FILE"], "a", encoding="utf-8")

    def log(name, value, step):
        spool.write(json.dumps({"name": name, "value": value, "step": step, "time": time.time()}) + "\n")
        spool.flush()

due = time.monotonic()
i = 0
while True:
    log("loss", i * 0.001, step=i)
    os.write(1, b"%d\n" % i)
    i += 1
    due += 0.001
    pause = due - time.monotonic()
    if pause > 0:
        time.sleep(pause)
