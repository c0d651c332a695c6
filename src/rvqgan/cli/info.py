"""``rvqgan info FILE.rvq [--verify]``: print an ``.rvq`` file's header and facts as JSON.

Without ``--verify`` only the header and the end-of-stream record are read (instant on
any file size). With ``--verify`` every chunk is read and CRC-checked. Exit code 0 when
the file is complete and sound, 1 when a problem was found after a valid header (the
JSON is printed, with the problem under ``"error"``), 2 when the file cannot be read at
all (not an ``.rvq`` file, damaged header).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from rvqgan.bitstream import RvqEnd, RvqHeader, RvqReader
from rvqgan.cli.entropy_options import chunk_kinds, payload_facts
from rvqgan.errors import BitstreamError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "info",
        help="show the header and size facts of an .rvq file",
        description="Print the header of an .rvq file and derived facts (duration, frames, bitrate) as JSON.",
    )
    parser.add_argument("file", type=Path, help="the .rvq file")
    parser.add_argument(
        "--verify", action="store_true", help="read and CRC-check every chunk; exit non-zero on the first error"
    )
    parser.set_defaults(func=run)


def describe(header: RvqHeader, end: RvqEnd | None, file_bytes: int, header_bytes: int) -> dict[str, Any]:
    """Derived facts of a file: durations, frames, sizes and bitrates.

    Args:
        header: the file header.
        end: the end-of-stream record, or ``None`` if it could not be read.
        file_bytes: size of the whole file.
        header_bytes: size of magic, version, header JSON and header CRC.
    """
    facts: dict[str, Any] = {
        "file_bytes": file_bytes,
        "header_bytes": header_bytes,
        "frame_rate": header.frame_rate,
        "bits_per_code": header.bits_per_code,
        "nominal_kbps": header.nominal_bitrate / 1000,
    }
    if end is None:
        return facts
    coded_seconds = end.total_frames / header.frame_rate
    length = end.original_length
    facts.update(
        total_frames=end.total_frames,
        n_chunks=end.n_chunks,
        original_length=length,
        duration_seconds=length / header.original_sample_rate if length is not None else coded_seconds,
        coded_seconds=coded_seconds,
    )
    if coded_seconds > 0:
        nominal_bytes = header.nominal_bitrate * coded_seconds / 8
        facts["bits_per_second"] = file_bytes * 8 / coded_seconds
        facts["overhead_percent"] = 100 * (file_bytes - nominal_bytes) / nominal_bytes
    return facts


def _read_end(reader: RvqReader, verify: bool) -> tuple[RvqEnd, dict[str, int] | None]:
    """The end record; with ``verify`` every chunk record is read and CRC-checked (not
    entropy-decoded: no model is needed) and the chunks are counted by coding."""
    if not verify:
        return reader.peek_end(), None
    kinds = chunk_kinds(reader.records())
    return reader.end, kinds  # type: ignore[return-value]  # set once the records are read


def run(args: argparse.Namespace) -> int:
    path: Path = args.file
    with RvqReader(path) as reader:
        end, kinds, error = None, None, None
        try:
            end, kinds = _read_end(reader, args.verify)
        except BitstreamError as exc:
            error = str(exc)
        size = os.path.getsize(path)
        facts = describe(reader.header, end, size, reader.header_size)
        facts.update(payload_facts(reader.header, end, size, reader.header_size))
        if kinds is not None:
            facts["chunk_codings"] = kinds
        report = {
            "file": str(path),
            "header": reader.header.to_dict(),
            "facts": facts,
            "verified": bool(args.verify and error is None),
            "error": error,
        }
    print(json.dumps(report, indent=2, ensure_ascii=False))
    if error is not None:
        print(f"rvqgan info: error: {error}", file=sys.stderr)
        return 1
    return 0
