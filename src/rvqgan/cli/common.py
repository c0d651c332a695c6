"""Shared pieces of the encode/decode commands: model choice, the batch loop, the summary."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from tqdm import tqdm

from rvqgan.cli.files import Job, Outcome
from rvqgan.errors import RvqganError

# rvqgan.inference.QUALITIES (``--quality``), written out so that this module does
# not import torch; a test checks that the two agree.
QUALITIES = ("fast", "realtime", "best")


def add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", required=True, help="output file (one input) or folder")
    parser.add_argument("--model", default=None, help="bundled model name or checkpoint path (default: 'default')")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="where the model runs")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def check_device(device: str) -> None:
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise RvqganError("--device cuda was asked for but no CUDA device is available")


def run_jobs(
    jobs: list[Job], work: Callable[[Job], float], *, weights: list[float], unit: str, verb: str, quiet: bool
) -> int:
    """Run ``work`` on each job under a progress bar; failures are collected, not fatal.

    ``weights`` is the progress each job is worth (e.g. seconds of audio); ``work``
    returns nothing useful or raises. Returns the exit code (1 if any job failed).
    """
    outcome = Outcome()
    total = sum(weights)
    with tqdm(total=total, unit=unit, disable=quiet or None, file=sys.stderr, dynamic_ncols=True) as bar:
        for index, (job, weight) in enumerate(zip(jobs, weights)):
            bar.set_postfix_str(f"file {index + 1}/{len(jobs)}")
            try:
                work(job)
            except RvqganError as exc:
                outcome.failed.append((job, str(exc)))
            except (OSError, RuntimeError, ValueError) as exc:
                outcome.failed.append((job, f"{type(exc).__name__}: {exc}"))
            else:
                outcome.done.append(job)
            bar.update(weight)
    stream = sys.stderr if outcome.failed else sys.stdout
    if outcome.failed or not quiet:
        print(outcome.summary(verb), file=stream)
    return 1 if outcome.failed else 0
