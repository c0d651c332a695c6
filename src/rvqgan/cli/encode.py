"""``rvqgan encode``: audio files or folders to ``.rvq``."""

from __future__ import annotations

import argparse
import math
import sys

from rvqgan.cli.common import QUALITIES, add_common_options, check_device, run_jobs
from rvqgan.cli.entropy_options import add_encode_options, compress_kwargs
from rvqgan.cli.files import AUDIO_SUFFIXES, Job, plan_jobs
from rvqgan.errors import InputError, RvqganError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("encode", help="compress audio to .rvq files")
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="audio files or folders (walked recursively)")
    add_common_options(parser)
    rate = parser.add_mutually_exclusive_group()
    rate.add_argument("--n-quantizers", type=int, default=None, help="codebooks to keep (default all)")
    rate.add_argument("--kbps", type=float, default=None, help="highest bitrate per channel, in kbit/s")
    add_encode_options(parser)
    parser.add_argument(
        "--stream",
        action="store_true",
        help="code frame by frame with a causal model; INPUT and -o may be '-' (WAV on stdin, .rvq on stdout)",
    )
    parser.add_argument(
        "--quality",
        choices=QUALITIES,
        default=None,
        help="how hard the encoder searches for its codes: fast (one pass, ~10x real time on 2 cores), "
        "realtime (a short analysis-by-synthesis search, faster than real time on 2 cores with the bundled "
        "model; what it needs to beat Opus), best (a longer search, offline). Default: realtime for the "
        "bundled default model, fast for other models. The same format; any decoder reads them "
        "(docs/inference.md)",
    )
    parser.add_argument(
        "--refine",
        type=int,
        default=None,
        metavar="STEPS",
        help="instead of --quality, set the search by hand: STEPS optimizer steps (0: the one-pass encode, "
        "as --quality fast)",
    )
    parser.add_argument(
        "--refine-sisdr",
        type=float,
        default=0.0,
        metavar="WEIGHT",
        help="with --refine: add the negative SI-SDR in dB, times WEIGHT (0.1-0.3), to the search's objective: "
        "a waveform closer to the input's, at some cost in mel distance (docs/inference.md)",
    )
    parser.add_argument(
        "--refine-lr",
        type=float,
        default=None,
        metavar="LR",
        help="with --refine: the search's learning rate on the latent (default 0.1; 0.2 for a short search "
        "of 4-6 steps, faster than real time on 2 cores; docs/inference.md)",
    )
    parser.add_argument(
        "--refine-mel",
        type=float,
        default=None,
        metavar="WEIGHT",
        help="with --refine: the weight of the mel distance in the search's objective (default 1; 0 leaves it "
        "out, a step a quarter cheaper, for SI-SDR at some cost in mel; docs/inference.md)",
    )
    parser.add_argument(
        "--full-band",
        action="store_true",
        help="do not measure and signal the input's bandwidth (by default the decoder low-passes a "
        "band-limited input's output at its bandwidth; docs/format.md)",
    )
    parser.add_argument(
        "--flush-every",
        type=int,
        default=None,
        metavar="FRAMES",
        help="with --stream: write a chunk every FRAMES frames (default 1 on stdout, 2 s chunks in a file)",
    )
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
    from rvqgan.inference import encoder_search

    check_device(args.device)
    if args.stream:
        return run_stream(args)
    encoder_search(args.quality, args.refine, args.refine_sisdr, args.refine_lr,
                   args.refine_mel)  # bad values fail here, before any file
    jobs = plan_jobs(args.inputs, args.output, AUDIO_SUFFIXES, ".rvq")
    if not jobs:
        raise RvqganError(f"no audio files ({', '.join(AUDIO_SUFFIXES)}) found in {args.inputs}")
    model = rvqgan.load_model(args.model, device=args.device)
    n = args.n_quantizers
    if args.kbps is not None:
        n = n_quantizers_for_kbps(model, args.kbps)
    model.quantizer.check_n_quantizers(n)
    extra = compress_kwargs(args, model)

    def weight(job: Job) -> float:
        try:
            return audio_info(job.source).duration or 0.0
        except RvqganError:
            return 0.0

    def work(job: Job) -> None:
        job.target.parent.mkdir(parents=True, exist_ok=True)
        rvqgan.compress(model, job.source, job.target, n, overwrite=args.overwrite, device=args.device,
                        band_limit=not args.full_band, quality=args.quality, refine_steps=args.refine,
                        refine_sisdr=args.refine_sisdr, refine_lr=args.refine_lr, refine_mel=args.refine_mel, **extra)

    return run_jobs(
        jobs, work, weights=[weight(j) for j in jobs], unit="s", verb="encoded", quiet=args.quiet
    )


def run_stream(args: argparse.Namespace) -> int:
    """``--stream``: one input (a file or '-') to one output (a file or '-'), frame by frame."""
    import rvqgan
    from rvqgan.streaming import require_causal
    from rvqgan.streaming.pipes import encode_pipe, one_thread, stdout_closed

    if len(args.inputs) != 1:
        raise InputError("--stream codes one input: a file, or '-' for a WAV stream on standard input")
    if args.flush_every is not None and args.flush_every < 1:
        raise InputError(f"--flush-every must be >= 1, got {args.flush_every}")
    if getattr(args, "entropy", "none") not in ("none", "auto"):
        raise InputError("--stream writes raw codes (one frame per chunk); leave out --entropy")
    if args.quality not in (None, "fast") or args.refine or args.refine_sisdr or args.refine_lr is not None \
            or args.refine_mel is not None:
        raise InputError("--stream codes frame by frame with the one-pass encoder (--quality fast); the search of "
                         "--quality realtime/best and --refine works over whole chunks and cannot be combined with it")
    one_thread()
    model = rvqgan.load_model(args.model, device=args.device)
    require_causal(model)
    n = n_quantizers_for_kbps(model, args.kbps) if args.kbps is not None else args.n_quantizers
    try:
        result = encode_pipe(
            model, args.inputs[0], args.output, n_quantizers=n, flush_every=args.flush_every, overwrite=args.overwrite
        )
    except BrokenPipeError:
        raise stdout_closed() from None
    if not args.quiet:
        seconds = result.samples / result.sample_rate
        print(f"encoded {seconds:.2f} s ({result.frames} frames), streamed", file=sys.stderr)
    return 0
