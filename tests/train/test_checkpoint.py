"""Training checkpoints: atomic, pruned, pickle-free, exact round trips."""

from __future__ import annotations

import json

import pytest
import torch

import rvqgan.train.state as state_module
from rvqgan.errors import CheckpointError
from rvqgan.train import Trainer
from rvqgan.train.state import CheckpointStore, optimizer_join, optimizer_split
from tests.train.helpers import tiny_train_config


def _toy():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.8, 0.9))
    model(torch.randn(5, 3)).sum().backward()
    optimizer.step()
    return model, optimizer


def test_optimizer_state_round_trip():
    model, optimizer = _toy()
    tensors, meta = optimizer_split(optimizer)
    json.dumps(meta)  # the non-tensor part must be JSON
    fresh = torch.optim.AdamW(model.parameters(), lr=5.0)
    optimizer_join(fresh, tensors, meta)
    a, b = optimizer.state_dict(), fresh.state_dict()
    assert a["param_groups"] == b["param_groups"]
    for i in a["state"]:
        for name, value in a["state"][i].items():
            assert torch.equal(value, b["state"][i][name])


def test_crash_mid_write_keeps_previous_latest(tmp_path, monkeypatch):
    model, optimizer = _toy()
    store = CheckpointStore(tmp_path, keep=3)
    store.save(1, {"generator": model}, {"optimizer_g": optimizer}, {"x": 1})
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)

    calls = []
    real_save = state_module.save_file

    def failing_save(tensors, path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:  # the generator shard is written, then the crash
            raise OSError("disk full")
        return real_save(tensors, path, *args, **kwargs)

    monkeypatch.setattr(state_module, "save_file", failing_save)
    with pytest.raises(OSError):
        store.save(2, {"generator": model}, {"optimizer_g": optimizer}, {"x": 2})
    monkeypatch.undo()

    latest = store.latest()
    assert latest is not None and latest.name == "step_00000001"
    state = store.load(latest, {"generator": model}, {"optimizer_g": optimizer})
    assert state.step == 1 and state.config == {"x": 1}
    for key, value in model.state_dict().items():
        assert torch.equal(value, saved[key])
    # The next save removes the half-written leftovers.
    store.save(3, {"generator": model}, {"optimizer_g": optimizer}, {})
    assert not list((tmp_path / "checkpoints").glob(".tmp-*"))
    assert store.latest().name == "step_00000003"


def test_keeps_last_n_and_writes_no_pickle(tmp_path):
    model, optimizer = _toy()
    store = CheckpointStore(tmp_path, keep=2)
    for step in (1, 2, 3, 4):
        store.save(step, {"generator": model}, {"optimizer_g": optimizer}, {})
    folders = sorted(p.name for p in (tmp_path / "checkpoints").glob("step_*"))
    assert folders == ["step_00000003", "step_00000004"]
    suffixes = {p.suffix for p in (tmp_path / "checkpoints").rglob("*") if p.is_file()}
    assert suffixes <= {".json", ".safetensors"}


def test_latest_pointer_lost_falls_back_to_newest_complete(tmp_path):
    model, optimizer = _toy()
    store = CheckpointStore(tmp_path)
    store.save(5, {"generator": model}, {"optimizer_g": optimizer}, {})
    store.save(7, {"generator": model}, {"optimizer_g": optimizer}, {})
    (tmp_path / "checkpoints" / "latest.json").write_text("{broken")
    assert store.latest().name == "step_00000007"


def test_resume_with_another_architecture_is_refused(piano_cache, tmp_path):
    Trainer(tiny_train_config(piano_cache, "schedule.max_steps=1"), tmp_path).run()
    with pytest.raises(CheckpointError, match="model"):
        Trainer(tiny_train_config(piano_cache, "model.decoder_dim=64"), tmp_path)
