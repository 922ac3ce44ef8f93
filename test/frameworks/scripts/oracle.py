# The oracle: what TensorBoard's own reader (EventAccumulator) and Python's csv module find in the
# files a framework wrote. Prints JSON:
#   {"events": {file: {tag: [[step, value, wall_time], ...]}}, "csv": {file: {"header": [...], "rows": [[...]]}}}
import csv
import glob
import json
import os
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.util import tensor_util

root = sys.argv[1]
events = {}
for path in sorted(glob.glob(os.path.join(root, "**", "events.out.tfevents.*"), recursive=True)):
    acc = EventAccumulator(path, size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    tags = acc.Tags()
    series = {}
    for tag in tags["scalars"]:
        series[tag] = [[e.step, e.value, e.wall_time] for e in acc.Scalars(tag)]
    for tag in tags["tensors"]:
        points = []
        for e in acc.Tensors(tag):
            array = tensor_util.make_ndarray(e.tensor_proto)
            if array.size != 1:
                continue
            value = array.reshape(()).item()
            points.append([e.step, value.decode("utf-8") if isinstance(value, bytes) else value, e.wall_time])
        if points:
            series[tag] = points
    events[os.path.relpath(path, root)] = series
tables = {}
for path in sorted(glob.glob(os.path.join(root, "**", "*.csv"), recursive=True) + glob.glob(os.path.join(root, "**", "training.log"), recursive=True)):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    tables[os.path.relpath(path, root)] = {"header": rows[0], "rows": rows[1:]}
print(json.dumps({"events": events, "csv": tables}))
