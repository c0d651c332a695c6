"""``rvqgan encode``: audio files or folders to ``.rvq``."""

from __future__ import annotations

import argparse
import math

from rvqgan.cli.common import add_common_options, check_device, run_jobs
from rvqgan.cli.files import AUDIO_SUFFIXES, Job, plan_jobs
from rvqgan.errors import InputError, RvqganError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("encode", help="compress audio to .rvq files")
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="audio files or folders (walked recursively)")
    add_common_options(parser)
    rate = parser.add_mutually_exclusive_group()
    rate.add_argument("--n-quantizers", type=int, default=None, help="codebooks to keep (default all)")
    rate.add_argument("--kbps", type=float, default=None, help="highest bitrate per channel, in kbit/s")
    parser.set_defaults(func=run)


def n_quantizers_for_kbps(model, kbps: float) -> int:
    """The most codebooks whose nominal bitrate per channel is at most ``kbps``."""
    per_codebook = model.bitrate(1) / 1000
    n = math.floor(kbps / per_codebook + 1e-9)
    if n < 1:
        raise InputError(f"--kbps {kbps} is below one codebook ({per_codebook:.2f} kbps) for this model")
    return min(n, model.n_codebooks)


def run(args: argparse.Namespace) -> int:
    import rvqgan
    from rvqgan.audio import audio_info

    check_device(args.device)
    jobs = plan_jobs(args.inputs, args.output, AUDIO_SUFFIXES, ".rvq")
    if not jobs:
        raise RvqganError(f"no audio files ({', '.join(AUDIO_SUFFIXES)}) found in {args.inputs}")
    model = rvqgan.load_model(args.model, device=args.device)
    n = args.n_quantizers
    if args.kbps is not None:
        n = n_quantizers_for_kbps(model, args.kbps)
    model.quantizer.check_n_quantizers(n)

    def weight(job: Job) -> float:
        try:
            return audio_info(job.source).duration or 0.0
        except RvqganError:
            return 0.0

    def work(job: Job) -> None:
        job.target.parent.mkdir(parents=True, exist_ok=True)
        rvqgan.compress(model, job.source, job.target, n, overwrite=args.overwrite, device=args.device)

    return run_jobs(
        jobs, work, weights=[weight(j) for j in jobs], unit="s", verb="encoded", quiet=args.quiet
    )
