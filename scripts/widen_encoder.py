"""Widen a model's encoder without changing its output (rvqgan.model.widen), to train it further.

Reads an rvqgan model file in float32 (``rvqgan export RUN -o MODEL.safetensors`` makes one
from a run or checkpoint folder), writes the widened model, and checks on a second of
noise that its codes are the input model's. Train it with ``configs/default_encoder_wide.yaml``
(docs/recipe.md, "A wider encoder, trained alone"):

    python scripts/widen_encoder.py MODEL.safetensors -o WIDE.safetensors --encoder-dim 32
    rvqgan train configs/default_encoder_wide.yaml --run-dir RUN --set schedule.init_from=WIDE.safetensors
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from rvqgan.checkpoint import load_model_file, read_checkpoint_info, save_model
from rvqgan.errors import RvqganError
from rvqgan.model.widen import widen_encoder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="rvqgan model file (.safetensors)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="widened model file to write")
    parser.add_argument("--encoder-dim", type=int, required=True, help="the new encoder_dim")
    parser.add_argument("--seed", type=int, default=0, help="seed of the added channels' initialization")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    args = parser.parse_args(argv)
    try:
        info = read_checkpoint_info(args.model)
        if info.get("dtype", "float32") != "float32":
            print(f"warning: {args.model} is stored in reduced precision; the widened model inherits its rounding",
                  file=sys.stderr)
        model = load_model_file(args.model, fold=False).eval()
        wide = widen_encoder(model, args.encoder_dim, seed=args.seed)
        noise = 0.1 * torch.randn(1, 1, model.sample_rate, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            same = (model.encode(noise) == wide.encode(noise)).float().mean().item()
        if same < 0.999:
            raise SystemExit(f"the widened encoder's codes differ from the model's on {1 - same:.2%} of a test input")
        card = {**(info.get("card") or {}), "widened": {"from": str(args.model), "encoder_dim": args.encoder_dim,
                                                        "was": model.config.encoder_dim, "seed": args.seed}}
        content_hash = save_model(wide, args.output, card=card, overwrite=args.overwrite)
    except RvqganError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.output} (encoder_dim {model.config.encoder_dim} -> {args.encoder_dim}, "
          f"{sum(p.numel() for p in wide.encoder.parameters()) / 1e6:.2f} M encoder parameters, "
          f"codes unchanged on {same:.1%} of a test input, content hash {content_hash[:16]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
