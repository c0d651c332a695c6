#!/usr/bin/env python3
"""Build the held-out real-audio test set: 10-second excerpts of the catalogue's test sources.

    python scripts/build_testset.py [--out data/testset] [--per-domain 50] [--seed 0]

Each excerpt is mono, resampled to 44.1 kHz with soxr, stored as 24-bit FLAC under
``OUT/DOMAIN/`` and described by one line of ``OUT/manifest.jsonl`` (see docs/data.md for
the fields). Excerpts are drawn deterministically (seeded) among the windows that are
not near-silent, spread round-robin over the recordings of each domain. Short files
(game voice lines, effects) are trimmed of their edge silence and concatenated per
folder, so a 10-second excerpt can hold several of them; the ``parts`` field lists them.
A second run with the same settings and sources finds the set up to date and stops.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sources as catalogue
from audio_sources import analysis
from audio_sources.audio_io import (
    TARGET_RATE,
    decode,
    file_sha256,
    limit_peak,
    read_jsonl,
    resample,
    slug,
    write_flac_atomic,
    write_json_atomic,
    write_jsonl_atomic,
)
from audio_sources.prepare import copy_licences, prepare_sources
from tqdm import tqdm

FRAME_S = 0.1


@dataclass
class Part:
    """One original file inside a stream, as the span [start, stop) of its 44.1 kHz version."""

    source_path: str
    start: int
    stop: int
    orig_sha256: str
    audio_sha256: str
    original_sample_rate: int


@dataclass
class Stream:
    """A continuous piece of audio to cut excerpts from: one long file or a folder of short ones."""

    source: catalogue.Source
    label: str
    parts: list[Part] = field(default_factory=list)
    levels: np.ndarray | None = None
    joined: bool = False  # short files trimmed, faded and concatenated


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "rvqgan-sources",
                   help="download and unpack cache (default: %(default)s)")
    p.add_argument("--out", type=Path, default=Path("data/testset"), help="output folder (default: %(default)s)")
    p.add_argument("--per-domain", type=int, default=50, help="excerpts per domain (default: %(default)s)")
    p.add_argument("--domains", default=",".join(catalogue.DOMAINS), help="comma-separated domains")
    p.add_argument("--seed", type=int, default=0, help="selection seed (default: %(default)s)")
    p.add_argument("--excerpt-s", type=float, default=10.0, help="excerpt length in seconds (default: %(default)s)")
    p.add_argument("--min-active", type=float, default=0.7,
                   help="least share of 100-ms frames above -50 dBFS in an excerpt (default: %(default)s)")
    p.add_argument("--subtype", default="PCM_24", choices=["PCM_16", "PCM_24"], help="FLAC sample format")
    p.add_argument("--force", action="store_true", help="rebuild even when the set is up to date")
    return p.parse_args(argv)


def build_key(args: argparse.Namespace, test_sources: list[catalogue.Source], versions: dict[str, str]) -> str:
    """Hash of everything that determines the set: settings, test sources, package versions."""
    desc = {"per_domain": args.per_domain, "domains": args.domains, "seed": args.seed, "excerpt_s": args.excerpt_s,
            "min_active": args.min_active, "subtype": args.subtype,
            "sources": [[s.id, s.include, s.exclude, versions.get(s.package)] for s in test_sources]}
    return hashlib.sha256(json.dumps(desc, sort_keys=True).encode()).hexdigest()


def up_to_date(out: Path, key: str) -> bool:
    """Whether ``out`` holds a complete set built with ``key`` (every file present, checksums match)."""
    info = out / "build_info.json"
    if not info.exists() or json.loads(info.read_text()).get("key") != key:
        return False
    rows = read_jsonl(out / "manifest.jsonl")
    return bool(rows) and all((out / r["path"]).exists() and file_sha256(out / r["path"]) == r["sha256"]
                              for r in rows)


def load_part(pkg, path: str) -> tuple[np.ndarray, object, str]:
    """Decode one original file and resample it to 44.1 kHz mono."""
    local = pkg.local(path)
    dec = decode(local)
    return resample(dec.mono, dec.sample_rate), dec, file_sha256(local)


def scan_source(source, pkg, paths: Iterable[str], excerpt_n: int, seen: set[str], counts: dict) -> list[Stream]:
    """Pass 1: decode a source's files, group them into streams and measure frame levels."""
    long_streams: list[Stream] = []
    folders: dict[str, tuple[Stream, list[np.ndarray]]] = {}
    for path in paths:
        try:
            audio, dec, orig = load_part(pkg, path)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is skipped and counted
            counts["unreadable"] += 1
            counts.setdefault("unreadable_files", []).append(f"{source.package}:{path} ({str(exc)[:120]})")
            continue
        if orig in seen or dec.audio_sha256 in seen:
            counts["duplicate"] += 1
            continue
        seen.update((orig, dec.audio_sha256))
        if len(audio) >= excerpt_n:
            part = Part(path, 0, len(audio), orig, dec.audio_sha256, dec.sample_rate)
            stream = Stream(source, path, [part])
            stream.levels = analysis.frame_levels_db(audio, TARGET_RATE, FRAME_S)
            long_streams.append(stream)
            continue
        start, stop = analysis.trim_edges(audio, TARGET_RATE)
        if stop <= start:
            counts["silent"] += 1
            continue
        folder = path.rsplit("/", 1)[0]
        stream, chunks = folders.setdefault(folder, (Stream(source, folder, joined=True), []))
        stream.parts.append(Part(path, start, stop, orig, dec.audio_sha256, dec.sample_rate))
        chunks.append(analysis.fade_edges(audio[start:stop], TARGET_RATE))
    for stream, chunks in folders.values():
        stream.levels = analysis.frame_levels_db(np.concatenate(chunks), TARGET_RATE, FRAME_S)
    return long_streams + [s for s, _ in folders.values()]


def stream_audio(stream: Stream, pkg) -> np.ndarray:
    """Pass 2: rebuild a stream's 44.1 kHz audio from its parts (same decode path as pass 1)."""
    if not stream.joined:
        return load_part(pkg, stream.parts[0].source_path)[0]
    chunks = [analysis.fade_edges(load_part(pkg, p.source_path)[0][p.start:p.stop], TARGET_RATE)
              for p in stream.parts]
    return np.concatenate(chunks)


def clip_parts(stream: Stream, offset: int, n: int) -> list[dict]:
    """The original files an excerpt [offset, offset + n) of a stream is made of."""
    out, pos = [], 0
    for p in stream.parts:
        length = p.stop - p.start
        lo, hi = max(offset, pos), min(offset + n, pos + length)
        if hi > lo:
            out.append({"source_path": p.source_path, "offset_s": round((p.start + lo - pos) / TARGET_RATE, 4),
                        "duration_s": round((hi - lo) / TARGET_RATE, 4), "orig_sha256": p.orig_sha256,
                        "audio_sha256": p.audio_sha256, "original_sample_rate": p.original_sample_rate})
        pos += length
    return out


def write_clip(audio: np.ndarray, rel: str, out: Path, subtype: str, stream: Stream, offset: int,
               pkg, domain: str) -> dict:
    """Write one excerpt and return its manifest row."""
    clip, gain = limit_peak(audio)
    write_flac_atomic(out / rel, clip, TARGET_RATE, subtype)
    parts = clip_parts(stream, offset, len(audio))
    orig_rate = min(p["original_sample_rate"] for p in parts)
    bandwidth = analysis.measure_bandwidth(clip, TARGET_RATE)
    single = not stream.joined
    return {
        "path": rel, "domain": domain, "sample_rate": TARGET_RATE, "duration": round(len(audio) / TARGET_RATE, 4),
        "full_band": analysis.is_full_band(bandwidth, orig_rate), "bandwidth_hz": round(bandwidth, 1),
        "source": stream.source.package, "package_version": pkg.version, "source_id": stream.source.id,
        "source_path": stream.label, "offset_s": round(parts[0]["offset_s"] if single else offset / TARGET_RATE, 4),
        "licence": stream.source.licence, "sha256": file_sha256(out / rel), "original_sample_rate": orig_rate,
        "gain": round(gain, 6), "active_fraction": round(analysis.active_fraction(
            analysis.frame_levels_db(clip, TARGET_RATE, FRAME_S)), 3), "parts": parts,
    }


def summarise(rows: list[dict]) -> dict:
    summary: dict = {}
    for r in rows:
        d = summary.setdefault(r["domain"], {"clips": 0, "full_band": 0, "sources": {}})
        d["clips"] += 1
        d["full_band"] += int(r["full_band"])
        d["sources"][r["source_id"]] = d["sources"].get(r["source_id"], 0) + 1
    return summary


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    t0 = time.time()
    errors = catalogue.catalogue_errors()
    if errors:
        print("catalogue errors:\n  " + "\n  ".join(errors), file=sys.stderr)
        return 2
    domains = tuple(d.strip() for d in args.domains.split(",") if d.strip())
    test_sources = catalogue.select("test", domains)
    unpacked, files, failures = prepare_sources(test_sources, catalogue.SOURCES, catalogue.PACKAGES, args.cache,
                                                lambda m: tqdm.write(m))
    key = build_key(args, test_sources, {n: p.version for n, p in unpacked.items()})
    if not args.force and up_to_date(args.out, key):
        print(f"{args.out} is up to date ({len(read_jsonl(args.out / 'manifest.jsonl'))} clips)")
        return 0
    excerpt_n = round(args.excerpt_s * TARGET_RATE)
    window = round(args.excerpt_s / FRAME_S)
    counts = {"unreadable": 0, "duplicate": 0, "silent": 0}
    seen: set[str] = set()
    rows: list[dict] = []
    for di, domain in enumerate(domains):
        streams: list[Stream] = []
        for s in (s for s in test_sources if s.domain == domain and s.id in files):
            paths = tqdm(files[s.id], desc=f"scan {s.id}", leave=False)
            streams += scan_source(s, unpacked[s.package], paths, excerpt_n, seen, counts)
        valid = [analysis.valid_window_starts(st.levels, window, args.min_active) for st in streams]
        chosen = analysis.choose_excerpts(valid, window, args.per_domain, args.seed + di)
        by_stream: dict[int, list[int]] = {}
        for i, start in chosen:
            by_stream.setdefault(i, []).append(start)
        index = 0
        for i in tqdm(sorted(by_stream), desc=f"write {domain}"):
            stream = streams[i]
            audio = stream_audio(stream, unpacked[stream.source.package])
            for start in by_stream[i]:
                offset = start * round(FRAME_S * TARGET_RATE)
                rel = f"{domain}/{index:03d}_{slug(stream.source.id)}.flac"
                rows.append(write_clip(audio[offset:offset + excerpt_n], rel, args.out, args.subtype, stream,
                                       offset, unpacked[stream.source.package], domain))
                index += 1
        tqdm.write(f"{domain}: {len(streams)} streams, {sum(len(v) > 0 for v in valid)} with a valid window, "
                   f"{index} excerpts")
    keep = {r["path"] for r in rows}
    for domain in domains:  # clips of an earlier build with other settings
        for old in (args.out / domain).glob("*.flac"):
            if f"{domain}/{old.name}" not in keep:
                old.unlink()
    copy_licences(unpacked, args.out)
    write_jsonl_atomic(args.out / "manifest.jsonl", rows)
    summary = {"domains": summarise(rows), "skipped": counts, "failed_packages": failures,
               "seconds": round(time.time() - t0, 1)}
    write_json_atomic(args.out / "summary.json", summary)
    write_json_atomic(args.out / "build_info.json", {"key": key, "args": {k: str(v) for k, v in vars(args).items()}})
    for domain, d in summary["domains"].items():
        print(f"{domain:14s} {d['clips']:4d} clips ({d['clips'] * args.excerpt_s / 60:.1f} min), "
              f"{d['full_band']} full-band, from {len(d['sources'])} sources")
    print(f"skipped files: {counts}; failed packages: {failures or 'none'}; {summary['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
