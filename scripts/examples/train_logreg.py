#!/usr/bin/env python3
"""A small, real training job for outpost: logistic regression by gradient descent, stdlib only.

It generates a two-class data set, trains for EPOCHS epochs, logs loss and accuracy per epoch
(and its params, and two list metrics), and writes the model and a report into outputs/
Run it under `outpost run -- python3 scripts/examples/train_logreg.py`.
"""
import json
import math
import os
import random

from outpost_logger import get_logger

EPOCHS = int(os.environ.get("EPOCHS", "30"))
SAMPLES = int(os.environ.get("SAMPLES", "600"))
LEARNING_RATE = 0.5
FEATURES = 4


def make_data(n, seed=7):
    """Two Gaussian blobs, labels 0 and 1, linearly separable up to noise."""
    rng = random.Random(seed)
    true_w = [rng.uniform(-2, 2) for _ in range(FEATURES)]
    data = []
    for _ in range(n):
        x = [rng.gauss(0, 1) for _ in range(FEATURES)]
        z = sum(w * v for w, v in zip(true_w, x)) + rng.gauss(0, 0.5)
        data.append((x, 1 if z > 0 else 0))
    return data


def sigmoid(z):
    if z < -60:
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))


def evaluate(w, b, data):
    loss, correct = 0.0, 0
    for x, y in data:
        p = sigmoid(sum(wi * xi for wi, xi in zip(w, x)) + b)
        p = min(max(p, 1e-12), 1 - 1e-12)
        loss -= y * math.log(p) + (1 - y) * math.log(1 - p)
        correct += (p >= 0.5) == (y == 1)
    return loss / len(data), correct / len(data)


def main():
    logger = get_logger()
    outputs = os.environ.get("OUTPOST_OUTPUTS_DIR", "outputs")
    os.makedirs(outputs, exist_ok=True)

    data = make_data(SAMPLES)
    split = int(len(data) * 0.8)
    train, test = data[:split], data[split:]
    w, b = [0.0] * FEATURES, 0.0
    logger.log_params({"learning_rate": LEARNING_RATE, "optimizer": "full-batch gradient descent",
                       "epochs": EPOCHS, "data": {"samples": SAMPLES, "features": FEATURES}})

    history = []
    for epoch in range(1, EPOCHS + 1):
        gw, gb = [0.0] * FEATURES, 0.0
        for x, y in train:
            err = sigmoid(sum(wi * xi for wi, xi in zip(w, x)) + b) - y
            gw = [g + err * xi for g, xi in zip(gw, x)]
            gb += err
        w = [wi - LEARNING_RATE * g / len(train) for wi, g in zip(w, gw)]
        b -= LEARNING_RATE * gb / len(train)
        loss, acc = evaluate(w, b, train)
        val_loss, val_acc = evaluate(w, b, test)
        logger.log_metrics({"loss": loss, "accuracy": acc, "val_loss": val_loss, "val_accuracy": val_acc}, step=epoch)
        history.append(round(val_acc, 4))
        print(f"epoch {epoch:3d}  loss {loss:.4f}  accuracy {acc:.3f}  val_accuracy {val_acc:.3f}")

    logger.log("weights", [round(v, 6) for v in w])
    logger.log("validation accuracy per epoch", history)
    with open(os.path.join(outputs, "model.json"), "w") as f:
        json.dump({"weights": w, "bias": b, "features": FEATURES}, f, indent=2)
    with open(os.path.join(outputs, "report.md"), "w") as f:
        f.write(f"# Logistic regression\n\nepochs: {EPOCHS}\n\nfinal validation accuracy: {history[-1]:.3f}\n")
    # Make sure the final metric is stored before the job says it is done.
    logger.log("final validation accuracy", history[-1]).wait(timeout=30)
    print("done")


if __name__ == "__main__":
    main()
