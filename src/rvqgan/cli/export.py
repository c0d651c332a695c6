"""``rvqgan export RUN_DIR -o MODEL.safetensors [--ema] [--dtype float16] [--name NAME]``.

Writes the newest checkpoint's generator (or that of one checkpoint folder given instead
of the run folder) in the codec checkpoint format, with a model
card (steps, recipe, data), so that ``rvqgan.load_model`` and ``rvqgan encode`` read it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a training run's generator as a model file",
        description="Export the generator of a run's newest checkpoint (or of one checkpoint folder) as an "
        "rvqgan .safetensors model.",
    )
    parser.add_argument("run_dir", type=Path, help="the training run folder, or one of its checkpoint folders (RUN/checkpoints/step_N)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="model file to write (.safetensors)")
    parser.add_argument("--ema", action="store_true", help="export the EMA copy of the generator")
    parser.add_argument("--dtype", choices=("float32", "float16"), default="float32", help="storage dtype")
    parser.add_argument("--name", default=None, help="model name (default: the output file's stem)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from rvqgan.train.export import export_run

    content_hash = export_run(args.run_dir, args.output, ema=args.ema, dtype=getattr(torch, args.dtype),
                              name=args.name, overwrite=args.overwrite)
    print(f"wrote {args.output} (content hash {content_hash[:16]})")
    return 0
