"""``rvqgan decode``: ``.rvq`` files or folders back to audio."""

from __future__ import annotations

import argparse
import sys

from rvqgan.cli.common import add_common_options, check_device, run_jobs
from rvqgan.cli.entropy_options import add_decode_options, decompress_kwargs, salvage_note
from rvqgan.cli.files import Job, plan_jobs
from rvqgan.errors import RvqganError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("decode", help="decompress .rvq files to audio")
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help=".rvq files or folders (walked recursively)")
    add_common_options(parser)
    parser.add_argument("--format", default="wav", choices=("wav", "flac"), help="audio format for folder outputs")
    parser.add_argument(
        "--stream",
        action="store_true",
        help="decode chunk by chunk as the codes arrive (causal models); INPUT and -o may be '-' (WAV on stdout)",
    )
    add_decode_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import rvqgan
    from rvqgan.bitstream import RvqReader

    check_device(args.device)
    if args.stream:
        return run_stream(args)
    jobs = plan_jobs(args.inputs, args.output, (".rvq",), f".{args.format}")
    if not jobs:
        raise RvqganError(f"no .rvq files found in {args.inputs}")
    model = rvqgan.load_model(args.model, device=args.device) if args.model else None
    models: dict[str, object] = {}
    extra = decompress_kwargs(args)

    def weight(job: Job) -> float:
        try:
            with RvqReader(job.source) as reader:
                header = reader.header
            if header.original_length is None:
                return 0.0
            return header.original_length / header.original_sample_rate
        except (RvqganError, OSError):
            return 0.0

    def work(job: Job) -> None:
        chosen = model
        if chosen is None:
            # Load each bundled model once, whichever files name it.
            with RvqReader(job.source) as reader:
                name = reader.header.model_name
            if name not in models:
                models[name] = rvqgan.load_model(name, device=args.device) if name in rvqgan.available_models() else None
            chosen = models[name]
        job.target.parent.mkdir(parents=True, exist_ok=True)
        result = rvqgan.decompress(job.source, job.target, chosen, overwrite=args.overwrite, device=args.device,
                                   **extra)
        note = salvage_note(job.source, result)
        if note is not None:
            print(note, file=sys.stderr)

    return run_jobs(
        jobs, work, weights=[weight(j) for j in jobs], unit="s", verb="decoded", quiet=args.quiet
    )


def run_stream(args: argparse.Namespace) -> int:
    """``--stream``: one ``.rvq`` (a file or '-') to audio (a file or '-': WAV on stdout), as it arrives."""
    import rvqgan
    from rvqgan.api import model_for_header
    from rvqgan.bitstream import RvqReader
    from rvqgan.entropy import decoder_for
    from rvqgan.streaming.pipes import STDIO, decode_pipe, one_thread, stdout_closed

    if args.salvage:
        raise RvqganError("--salvage reads a whole file; it cannot be combined with --stream")
    if len(args.inputs) != 1:
        raise RvqganError("--stream decodes one input: an .rvq file, or '-' for a stream on standard input")
    one_thread()
    model = rvqgan.load_model(args.model, device=args.device) if args.model else None
    source = sys.stdin.buffer if args.inputs[0] == STDIO else args.inputs[0]
    try:
        with RvqReader(source) as reader:
            chosen = model_for_header(reader.header, model)
            reader.chunk_decoder = decoder_for(reader.header, chosen)
            result = decode_pipe(chosen, reader, args.output, overwrite=args.overwrite)
    except BrokenPipeError:
        raise stdout_closed() from None
    if not args.quiet:
        seconds = result.samples / result.sample_rate
        print(f"decoded {seconds:.2f} s ({result.frames} frames), streamed", file=sys.stderr)
    return 0
