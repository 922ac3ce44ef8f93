# Keras 3 (torch backend) with its CSVLogger, unmodified: a row per epoch, the "epoch" column first.
import os

os.environ.setdefault("KERAS_BACKEND", "torch")
import keras  # noqa: E402
import numpy as np  # noqa: E402

rng = np.random.RandomState(0)
x = rng.randn(256, 4).astype("float32")
y = (x[:, 0] > 0).astype("int32")
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(2, activation="softmax")])
model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x, y, epochs=6, batch_size=32, validation_split=0.25, verbose=0, callbacks=[keras.callbacks.CSVLogger("outputs/training.log")])
print("done")
