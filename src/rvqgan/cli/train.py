"""``rvqgan train CONFIG --run-dir DIR [--set key=value ...] [--max-steps N]``.

Trains the recipe CONFIG, resuming automatically when DIR holds a checkpoint.
Ctrl-C (SIGINT) or SIGTERM writes a checkpoint and exits with code 0. Several
processes: ``torchrun --nproc_per_node N -m rvqgan train ...`` (see docs/training.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a codec from a recipe (resumes a run folder)",
        description="Train (or resume) a codec. Recipes: configs/*.yaml; overrides: --set optim.lr=2e-4.",
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", type=Path, help="recipe YAML (e.g. configs/small_cpu.yaml)")
    parser.add_argument("--run-dir", type=Path, required=True, help="folder for checkpoints and logs")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a recipe key, e.g. --set schedule.batch_size=12 (repeatable)")
    parser.add_argument("--max-steps", type=int, default=None,
                        help="stop at this step in this invocation (the recipe's schedule is unchanged)")


def run(args: argparse.Namespace) -> int:
    # Imported here so that `rvqgan --help` and the inference commands stay light.
    from rvqgan.train import load_config, train
    from rvqgan.train.distributed import shutdown

    config = load_config(args.config, args.overrides)
    try:
        train(config, args.run_dir, args.max_steps)
    finally:
        shutdown()
    return 0
