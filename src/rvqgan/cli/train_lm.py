"""``rvqgan train-lm CONFIG --run-dir DIR [--set key=value ...] [--max-steps N]``.

Trains the code language model (and counts the static tables) of the codec a recipe
names, on its corpus codes (encoded once, cached). Resumes by itself from DIR; when the
invocation ends the models are exported beside the codec checkpoint, where
``rvqgan.load_model`` finds them. Recipes: ``configs/lm/*.yaml``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "train-lm",
        help="train a codec's code language model for entropy coding (resumes a run folder)",
        description="Train (or resume) the code LM and static tables of a codec. Recipes: configs/lm/*.yaml.",
    )
    parser.add_argument("config", type=Path, help="recipe YAML (e.g. configs/lm/default.yaml)")
    parser.add_argument("--run-dir", type=Path, required=True, help="folder for the checkpoint, log and codes cache")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a recipe key, e.g. --set codec=path/to/codec.safetensors (repeatable)",
    )
    parser.add_argument(
        "--max-steps",
        type=int,
        default=None,
        help="stop (and export) at this step in this invocation; the schedule is unchanged",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the final summary")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Imported here so that `rvqgan --help` stays light.
    from rvqgan.entropy.train_config import load_lm_config
    from rvqgan.entropy.training import train_lm

    config = load_lm_config(args.config, args.overrides)
    card = train_lm(config, args.run_dir, args.max_steps, echo=None if args.quiet else print)
    summary = {
        key: card[key]
        for key in (
            "steps",
            "valid_bits_per_code",
            "valid_static_bits_per_code",
            "raw_bits_per_code",
            "lm_path",
            "static_path",
        )
        if key in card
    }
    print(json.dumps(summary, indent=2))
    return 0
