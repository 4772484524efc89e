"""The transformers callback writes a store from a 3-step Trainer run (no download)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")

from torchscope.integrations.transformers import TorchscopeTrainerCallback  # noqa: E402
from torchscope.store.reader import RunReader  # noqa: E402


class _Dataset(torch.utils.data.Dataset):  # type: ignore[type-arg]
    def __init__(self, n: int = 24) -> None:
        g = torch.Generator().manual_seed(0)
        self.ids = torch.randint(5, 100, (n, 12), generator=g)
        self.labels = torch.randint(0, 2, (n,), generator=g)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {"input_ids": self.ids[i], "labels": self.labels[i]}


def test_trainer_callback_writes_the_run(tmp_path: Path) -> None:
    config = transformers.BertConfig(
        vocab_size=100, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=32, num_labels=2,
    )  # fmt: skip
    model = transformers.BertForSequenceClassification(config)
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "out"),
        max_steps=3,
        per_device_train_batch_size=8,
        logging_steps=1,
        report_to=[],
        save_strategy="no",
        use_cpu=True,
        disable_tqdm=True,
    )
    logdir = tmp_path / "run"
    callback = TorchscopeTrainerCallback(str(logdir), every=1, activations_every=1)
    trainer = transformers.Trainer(
        model=model, args=args, train_dataset=_Dataset(), callbacks=[callback]
    )
    trainer.train()
    logged = [h for h in trainer.state.log_history if "loss" in h]
    with RunReader(logdir) as reader:
        loss = reader.scalars("loss")
        assert list(loss.steps) == [h["step"] for h in logged] == [1, 2, 3]
        assert list(loss.values) == pytest.approx([h["loss"] for h in logged], rel=1e-6)
        # the Trainer clips and reports the total gradient norm; ours is taken before the step
        ours = reader.scalars("grad_norm")
        assert list(ours.steps) == [1, 2, 3]
        assert list(ours.values) == pytest.approx([h["grad_norm"] for h in logged], rel=1e-4)
        grads = reader.layer_stats("grad", "norm")
        assert "bert.encoder.layer.0.attention.self.query.weight" in grads.layers
        acts = reader.layer_stats("activation", "mean")
        assert "bert.encoder.layer.1.output.dense" in acts.layers
        assert reader.meta()["config"]["max_steps"] == 3
    assert callback.monitor is None


def test_logged_names_from_the_trainer_are_made_printable() -> None:
    from tests.monitor.fake_store import FakeWriter
    from torchscope.monitor import Monitor

    callback = TorchscopeTrainerCallback()
    writer = FakeWriter()
    callback.monitor = Monitor(torch.nn.Linear(2, 1), writer=writer)
    state = type("State", (), {"global_step": 4})()
    logs = {"loss\x1b]0;t\x07": 0.5, "eval_acc\n": 0.75, "grad_norm": 1.0}
    callback.on_log(None, state, None, logs=logs)  # type: ignore[arg-type]
    callback.monitor.close()
    assert writer.scalar("loss\\x1b]0;t\\x07") == {4: 0.5}
    assert writer.scalar("acc\\n", split="val") == {4: 0.75}
