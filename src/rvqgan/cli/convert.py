"""``rvqgan convert``: rewrite a checkpoint between the rvqgan and the official DAC formats."""

from __future__ import annotations

import argparse

from rvqgan.checkpoint import detect_format, load_model_file, save_model, save_official
from rvqgan.checkpoint.tensors import STORAGE_DTYPES
from rvqgan.errors import CheckpointError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``convert`` parser."""
    parser = subparsers.add_parser(
        "convert",
        help="convert a checkpoint between rvqgan .safetensors and official DAC .pth",
        description=(
            "Read an rvqgan .safetensors checkpoint or an official DAC .pth (detected from its content) "
            "and write it in the other format, or in the one named by --to."
        ),
    )
    parser.add_argument("input", metavar="INPUT", help="checkpoint to read")
    parser.add_argument("-o", "--output", required=True, metavar="OUTPUT", help="file to write")
    parser.add_argument(
        "--to",
        choices=("rvqgan", "official"),
        default=None,
        help="output format (default: the other one than the input's)",
    )
    parser.add_argument(
        "--dtype",
        choices=tuple(STORAGE_DTYPES),
        default="float32",
        help="storage dtype of an rvqgan output (official files are always float32)",
    )
    parser.add_argument("--name", default=None, help="model name stored in an rvqgan output (default: input's)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Convert ``args.input`` to ``args.output``; print a one-line summary."""
    source = detect_format(args.input)
    target = args.to or ("official" if source == "rvqgan" else "rvqgan")
    if target == "official" and args.dtype != "float32":
        raise CheckpointError("official DAC files are float32; drop --dtype or use --to rvqgan")
    if target == "official" and args.name is not None:
        raise CheckpointError("official DAC files have no name field; drop --name or use --to rvqgan")
    model = load_model_file(args.input)
    if target == "rvqgan":
        dtype = STORAGE_DTYPES[args.dtype]
        content_hash = save_model(model, args.output, name=args.name, dtype=dtype, overwrite=args.overwrite)
        name = args.name or model.name
    else:
        content_hash = save_official(model, args.output, overwrite=args.overwrite)
        name = model.name
    n_params = sum(p.numel() for p in model.parameters())
    print(
        f"{args.input} ({source}) -> {args.output} ({target}, {args.dtype if target == 'rvqgan' else 'float32'}): "
        f"name={name} hash={content_hash} params={n_params / 1e6:.2f}M"
    )
    return 0
