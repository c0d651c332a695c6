"""``rvqgan prepare SOURCE[:DOMAIN[:fullband]] ... -o CACHE [--sample-rate 44100]``.

Decodes every audio file of the sources once (mono, resampled with soxr, int16) into a
memory-mappable cache that training reads without any audio library. A source is a
folder (searched recursively; its domain and full-band flag follow the colon, e.g.
``data/vctk:speech`` or ``data/musdb:music:fullband``) or a ``.jsonl`` manifest (which
gives them per file). Unreadable files are skipped, listed and counted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "prepare",
        help="decode training audio once into a cache",
        description="Decode, mix to mono and resample audio into a training cache (int16 .npy shards + index.json).",
    )
    parser.add_argument("sources", nargs="+", metavar="SOURCE",
                        help="folder[:domain[:fullband]] or manifest.jsonl")
    parser.add_argument("-o", "--output", type=Path, required=True, help="cache folder to create")
    parser.add_argument("--sample-rate", type=int, default=44100, help="the model's rate (default 44100)")
    parser.add_argument("--workers", type=int, default=1, help="decoding processes")
    parser.add_argument("--shard-mb", type=float, default=64.0, help="shard size in MiB")
    parser.set_defaults(func=run)


def parse_source(text: str):
    """``folder[:domain[:fullband]]`` -> SourceConfig; a ``.jsonl`` path is a manifest."""
    from rvqgan.data import SourceConfig
    from rvqgan.errors import ConfigError

    path, _, rest = text.partition(":")
    domain, _, flag = rest.partition(":")
    if flag not in ("", "fullband"):
        raise ConfigError(f"source {text!r}: the third field may only be 'fullband'")
    return SourceConfig(path=path, domain=domain or "music", full_band=flag == "fullband")


def run(args: argparse.Namespace) -> int:
    from rvqgan.data import list_sources, prepare_cache

    files = list_sources([parse_source(s) for s in args.sources])
    print(f"preparing {len(files)} files into {args.output} at {args.sample_rate} Hz", file=sys.stderr)

    def progress(done: int, total: int) -> None:
        if done == total or done % 100 == 0:
            print(f"  {done}/{total}", file=sys.stderr)

    index = prepare_cache(files, args.output, args.sample_rate, shard_mb=args.shard_mb, workers=args.workers,
                          progress=progress)
    seconds = sum(f["length"] for f in index["files"]) / args.sample_rate
    print(f"{len(index['files'])} files ({seconds / 3600:.2f} h) in {len(index['shards'])} shard(s); "
          f"{len(index['skipped'])} unreadable file(s) skipped")
    for item in index["skipped"]:
        print(f"  skipped: {item['error']}", file=sys.stderr)
    return 0
