"""``rvqgan`` entry point: builds the parser from the subcommand modules and runs one."""

from __future__ import annotations

import argparse
import importlib
import os
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
    except BrokenPipeError:
        # The reader went away (``rvqgan info x.rvq | head``): stop quietly, as Unix tools
        # do. Output files are written before anything is printed, so nothing is lost.
        # Point stdout at /dev/null so that the interpreter's final flush cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by the signal


if __name__ == "__main__":
    sys.exit(main())
