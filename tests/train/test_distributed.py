"""Two CPU processes under torchrun (gloo) train like one process on the same global batch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from rvqgan.train import Trainer
from tests.train.helpers import tiny_train_config

# Quantizer dropout draws per rank, so it is off here. Adam moves a parameter by ~lr
# whatever its gradient's size, so parameters whose gradients are rounding noise
# (~1e-8: e.g. discriminator biases where the real and fake terms cancel) would move
# by +-lr at random in either run; a larger epsilon keeps those still. The gradients
# themselves agree to float precision.
OVERRIDES = ["model.quantizer_dropout=0.0", "schedule.batch_size=4", "schedule.max_steps=3", "optim.eps=1e-5"]


def test_two_processes_match_one(piano_cache, tmp_path):
    out = tmp_path / "weights"
    out.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               str(Path(__file__).parent / "ddp_worker.py"), str(piano_cache), str(tmp_path / "ddp"), str(out),
               *OVERRIDES]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    rank0, rank1 = load_file(str(out / "rank0.safetensors")), load_file(str(out / "rank1.safetensors"))
    for key in rank0:
        assert torch.equal(rank0[key], rank1[key]), f"replicas differ at {key}"

    single = Trainer(tiny_train_config(piano_cache, *OVERRIDES), tmp_path / "single")
    assert single.run() == 3
    reference = {f"g.{k}": v for k, v in single.generator.state_dict().items()}
    reference.update({f"d.{k}": v for k, v in single.discriminator.state_dict().items()})
    for key, value in reference.items():
        torch.testing.assert_close(rank0[key], value, rtol=1e-4, atol=1e-5, msg=f"DDP and single differ at {key}")
    # Only rank 0 logs and checkpoints.
    assert (tmp_path / "ddp" / "checkpoints" / "latest.json").is_file()
    log = (tmp_path / "ddp" / "train.log").read_text()
    assert log.count("starting at step 0") == 1
