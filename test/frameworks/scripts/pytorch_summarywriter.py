# PyTorch's SummaryWriter, unmodified: simple_value scalars, new_style (tensor) scalars, add_scalars
# (a folder per series, one tag), text, and a histogram (not a metric).
import math

import torch
from torch.utils.tensorboard import SummaryWriter

writer = SummaryWriter("outputs/runs/exp")
for step in range(300):
    writer.add_scalar("train/loss", math.exp(-step / 60) + 0.01 * math.sin(step), step)
    writer.add_scalar("lr", 0.1 * 0.99**step, step, new_style=True)
    if step % 25 == 0:
        writer.add_scalars("acc", {"train": step / 300, "val": step / 330}, step)
        writer.add_text("note", f"step {step}: ok", step)
        writer.add_histogram("weights", torch.randn(100), step)
writer.close()
print("done")
