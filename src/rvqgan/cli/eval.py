"""``rvqgan eval``: score codecs on a test set; CSV, Markdown summary, plots, listening page."""

from __future__ import annotations

import argparse
import shlex
import sys

EPILOG = """examples:
  rvqgan eval --testset data/testset/manifest.jsonl --codec opus:6,8,12,24 --codec mp3:32 -o eval/baselines
  rvqgan eval --testset data/testset/manifest.jsonl --codec model:runs/x/model.safetensors:mine -o eval/mine --limit 50
An interrupted run resumes: rerun the same command with the same -o folder."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="evaluate codecs on a test set",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--testset", required=True, help="manifest.jsonl of the test set")
    parser.add_argument(
        "--codec",
        action="append",
        required=True,
        metavar="SPEC",
        help="opus:KBPS,...  mp3:KBPS[@RATE],...  model:PATH[:NAME]  (repeatable)",
    )
    parser.add_argument("-o", "--output", required=True, help="output folder (reused to resume)")
    parser.add_argument("--domains", nargs="+", choices=("speech", "music", "environmental"), help="domains to keep")
    parser.add_argument("--limit", type=int, help="at most N clips per domain, evenly spread over its clips")
    parser.add_argument("--max-seconds", type=float, help="score only the first seconds of each clip")
    parser.add_argument("--clips-for-plots", type=int, default=3, help="clips for spectrograms and listening page")
    parser.add_argument("--listening-seconds", type=float, default=6.0, help="length of listening excerpts")
    parser.add_argument("--max-per-codec", type=int, default=4, help="settings per codec on the listening page")
    parser.add_argument("--no-visqol", action="store_true", help="skip ViSQOL (the slowest metric)")
    parser.add_argument("--no-speech-metrics", action="store_true", help="skip PESQ/STOI on speech clips")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG figures (no matplotlib needed)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the listening page's condition order")
    parser.add_argument("--device", default="cpu", help="torch device for models")
    from rvqgan.cli.common import QUALITIES

    parser.add_argument("--quality", choices=QUALITIES, default=None,
                        help="model codecs: the encoder's search, as rvqgan encode --quality (the same default: "
                        "realtime for the bundled default model, fast for others)")
    parser.add_argument("--refine", type=int, default=None, metavar="STEPS",
                        help="model codecs: instead of --quality, a search set by hand, as rvqgan encode --refine")
    parser.add_argument("--refine-sisdr", type=float, default=0.0, metavar="WEIGHT",
                        help="with --refine: the SI-SDR term of the search's objective, as rvqgan encode --refine-sisdr")
    parser.add_argument("--refine-lr", type=float, default=None, metavar="LR",
                        help="with --refine: the search's learning rate, as rvqgan encode --refine-lr")
    parser.add_argument("--refine-mel", type=float, default=None, metavar="WEIGHT",
                        help="with --refine: the mel term's weight in the search, as rvqgan encode --refine-mel")
    parser.add_argument("--codebooks", type=int, nargs="+", metavar="K",
                        help="model codecs: score only these numbers of codebooks (default 1..K)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rvqgan.errors import InputError
    from rvqgan.eval import EvalOptions, load_testset, parse_codec_spec, run_evaluation
    from rvqgan.inference import encoder_search

    search = encoder_search(args.quality, args.refine, args.refine_sisdr, args.refine_lr,
                            args.refine_mel)  # bad values fail here, before any clip
    if args.limit is not None and args.limit < 1:
        raise InputError("--limit must be at least 1")
    clips = load_testset(args.testset, domains=args.domains, limit=args.limit)
    if not clips:
        raise InputError(f"no clip of {args.testset} matches --domains {args.domains}")
    codecs = [parse_codec_spec(spec, device=args.device, refine=search, n_codebooks=args.codebooks)
              for spec in args.codec]
    options = EvalOptions(
        visqol=not args.no_visqol,
        speech_metrics=not args.no_speech_metrics,
        clips_for_plots=args.clips_for_plots,
        max_seconds=args.max_seconds,
    )
    command = "rvqgan " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["eval"] else None
    rows, written = run_evaluation(
        clips,
        codecs,
        args.output,
        options,
        command=command,
        progress=not args.quiet,
        plots=not args.no_plots,
        listening_seconds=args.listening_seconds,
        max_per_codec=args.max_per_codec,
        seed=args.seed,
    )
    print(f"{len(rows)} rows for {len(clips)} clips x {len(codecs)} codecs in {args.output}")
    for kind, paths in written.items():
        for path in paths:
            print(f"  {kind}: {path}")
    return 0
