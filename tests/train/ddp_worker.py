"""Run by torchrun from test_distributed.py: train the tiny recipe, save this rank's weights."""

import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).parents[2]))  # the repository root

from rvqgan.train import Trainer
from rvqgan.train.distributed import shutdown
from tests.train.helpers import tiny_train_config


def main() -> None:
    cache, run_dir, out, *overrides = sys.argv[1:]
    torch.set_num_threads(1)
    trainer = Trainer(tiny_train_config(Path(cache), *overrides), run_dir)
    trainer.run()
    state = {f"g.{k}": v.contiguous() for k, v in trainer.generator.state_dict().items()}
    state.update({f"d.{k}": v.contiguous() for k, v in trainer.discriminator.state_dict().items()})
    save_file(state, str(Path(out) / f"rank{trainer.info.rank}.safetensors"))
    shutdown()


if __name__ == "__main__":
    main()
