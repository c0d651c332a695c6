"""``rvqgan`` entry point: builds the parser from the subcommand modules and runs one."""

from __future__ import annotations

import argparse
import importlib
import sys

from rvqgan.errors import RvqganError

# Each module exposes ``register(subparsers)``, which adds its parser and sets
# ``func=run`` where ``run(args) -> int`` returns the exit code.
SUBCOMMANDS = ("encode", "decode", "info", "convert", "eval", "train", "train_lm", "export", "prepare")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rvqgan", description="Improved RVQGAN neural audio codec.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"rvqgan.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"rvqgan.cli.{name}":
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except RvqganError as exc:
        print(f"rvqgan {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rvqgan {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
