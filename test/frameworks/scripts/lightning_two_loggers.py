# A Lightning module trained with both TensorBoardLogger and CSVLogger, unmodified: both write
# train_loss, val/acc and epoch; CSVLogger rewrites metrics.csv whole when val/acc first appears;
# save_hyperparameters() writes hparams.yaml. SLOW_STEP_S slows each step (the SIGKILL test).
import os
import time

import lightning as L
import torch
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

EPOCHS = int(os.environ.get("EPOCHS", "4"))
SLOW = float(os.environ.get("SLOW_STEP_S", "0"))


class Model(L.LightningModule):
    def __init__(self, lr=0.05, hidden=8, optimizer="sgd"):
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 2))

    def training_step(self, batch, _):
        x, y = batch
        loss = torch.nn.functional.cross_entropy(self.net(x), y)
        self.log("train_loss", loss)
        if SLOW:
            time.sleep(SLOW)
        return loss

    def validation_step(self, batch, _):
        x, y = batch
        self.log("val/acc", (self.net(x).argmax(1) == y).float().mean())

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


torch.manual_seed(0)
x = torch.randn(256, 4)
y = (x[:, 0] > 0).long()
data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)
trainer = L.Trainer(
    max_epochs=EPOCHS,
    logger=[TensorBoardLogger("outputs", name="lightning_logs"), CSVLogger("outputs", name="csv_logs", flush_logs_every_n_steps=10)],
    log_every_n_steps=1,
    enable_progress_bar=False,
    enable_model_summary=False,
    enable_checkpointing=False,
    accelerator="cpu",
    devices=1,
)
trainer.fit(Model(), data, data)
print("done")
