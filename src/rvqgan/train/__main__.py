"""``python -m rvqgan.train CONFIG --run-dir DIR ...``: ``rvqgan train`` without the console script
(handy with ``PYTHONPATH=src`` on a machine where the package is not installed, and with torchrun)."""

import argparse
import sys

from rvqgan.cli.train import add_arguments, run
from rvqgan.errors import RvqganError


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m rvqgan.train", description="Train (or resume) a codec.")
    add_arguments(parser)
    args = parser.parse_args()
    try:
        return run(args)
    except RvqganError as exc:
        print(f"rvqgan train: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
