"""Entropy-coding options of ``rvqgan encode`` / ``decode`` / ``info``, kept in one place.

The commands call these helpers (see each function) so that the options and their
meaning live beside each other:

* ``encode --entropy none|static|lm|auto``: how chunks are coded (``auto``: the code LM
  if the codec has one, else its static tables, else none);
* ``decode --salvage``: decode a damaged file's intact chunks, silence for the rest,
  and report the lost spans;
* ``info``: the payload's bits per second and the coding of the chunks.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rvqgan.bitstream import (
    CHUNK_OVERHEAD,
    CHUNK_OVERHEAD_V1,
    END_SIZE,
    KIND_LM,
    KIND_RAW,
    KIND_STATIC,
    RvqEnd,
    RvqHeader,
)

ENTROPY_CHOICES = ("none", "static", "lm", "auto")
KIND_NAMES = {KIND_RAW: "raw", KIND_STATIC: "static", KIND_LM: "lm"}


def add_encode_options(parser: argparse.ArgumentParser) -> None:
    """``--entropy`` for ``rvqgan encode``."""
    parser.add_argument(
        "--entropy",
        choices=ENTROPY_CHOICES,
        default="none",
        help="entropy coding of the codes: none (raw), static (per-codebook tables), lm (code language "
        "model), auto (the best the model has); the decoded audio is the same",
    )


def add_decode_options(parser: argparse.ArgumentParser) -> None:
    """``--salvage`` for ``rvqgan decode``."""
    parser.add_argument(
        "--salvage",
        action="store_true",
        help="decode the intact chunks of a damaged file, with silence where chunks were lost (reported)",
    )


def resolve_entropy(model: Any, choice: str) -> str:
    """The coding to use: ``auto`` becomes the best the model has."""
    if choice != "auto":
        return choice
    from rvqgan.entropy.model_files import entropy_models_of

    models = entropy_models_of(model)
    for kind in ("lm", "static"):
        if models.available(kind):
            return kind
    return "none"


def compress_kwargs(args: argparse.Namespace, model: Any) -> dict[str, Any]:
    """Extra keyword arguments of ``rvqgan.compress`` from the encode options."""
    return {"entropy": resolve_entropy(model, getattr(args, "entropy", "none"))}


def decompress_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """Extra keyword arguments of ``rvqgan.decompress`` from the decode options."""
    return {"salvage": bool(getattr(args, "salvage", False))}


def salvage_note(source: Path, result: Any) -> str | None:
    """A report for stderr when a salvaged decode lost something, else ``None``."""
    lost = getattr(result, "lost", ())
    problems = getattr(result, "problems", ())
    if not lost and not problems:
        return None
    lines = [f"{source}: salvaged; {len(lost)} span(s) lost, written as silence:"]
    lines += [f"  lost {start:.3f} s .. {end:.3f} s ({end - start:.3f} s)" for start, end in lost]
    lines += [f"  damage: {problem}" for problem in problems]
    return "\n".join(lines)


def payload_facts(header: RvqHeader, end: RvqEnd | None, file_bytes: int, header_bytes: int) -> dict[str, Any]:
    """``rvqgan info`` facts about the coded payload, from sizes alone (no chunk is read).

    Returns:
        ``entropy`` (the header's coding or ``"none"``), and when the end record is known
        ``payload_bytes`` (the chunk payloads: what the codes cost) and
        ``payload_bits_per_second`` (over the coded duration).
    """
    facts: dict[str, Any] = {"entropy": header.entropy.coding if header.entropy else "none"}
    if header.entropy is not None:
        facts["entropy_model"] = {"name": header.entropy.model_name, "hash": header.entropy.model_hash}
    if end is None:
        return facts
    overhead = CHUNK_OVERHEAD if header.format_version >= 2 else CHUNK_OVERHEAD_V1
    payload = file_bytes - header_bytes - END_SIZE - end.n_chunks * overhead
    facts["payload_bytes"] = payload
    seconds = end.total_frames / header.frame_rate
    if seconds > 0:
        facts["payload_bits_per_second"] = 8 * payload / seconds
    return facts


def chunk_kinds(records: Any) -> dict[str, int]:
    """Count chunk records (``RvqReader.records()``) by coding: ``{"raw": 3, "lm": 41}``."""
    counts: dict[str, int] = {}
    for record in records:
        name = KIND_NAMES.get(record.kind, f"0x{record.kind:02x}")
        counts[name] = counts.get(name, 0) + 1
    return counts
