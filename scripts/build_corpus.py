#!/usr/bin/env python3
"""Build the training corpus from the catalogue's train sources, disjoint from the test set.

    python scripts/build_corpus.py [--out data/corpus] [--testset data/testset] [--rates 44100]

Every training file is decoded once, mixed to mono, resampled with soxr to each rate of
``--rates`` and stored as 16-bit FLAC under ``OUT/RATE/DOMAIN/SOURCE/``; ``OUT/manifest.jsonl``
has one row per written file (see docs/data.md). Duplicates (same file bytes or same
decoded audio) are kept once.

The build refuses to run without a test-set manifest (``--allow-missing-testset`` to
override) and checks, before and after, that no source, original file (path or checksum),
decoded audio or written file is shared with the test set; a training file found in the
test set is left out and reported, and the final check fails loudly on any overlap.
An interrupted build resumes where it stopped (``manifest.partial.jsonl``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path, PurePosixPath

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
from audio_sources.disjoint import DisjointnessError, check_disjoint, disjointness_problems
from audio_sources.prepare import copy_licences, prepare_sources
from tqdm import tqdm


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "rvqgan-sources",
                   help="download and unpack cache (default: %(default)s)")
    p.add_argument("--out", type=Path, default=Path("data/corpus"), help="output folder (default: %(default)s)")
    p.add_argument("--testset", type=Path, default=Path("data/testset"),
                   help="test set to stay disjoint from (default: %(default)s)")
    p.add_argument("--rates", default=str(TARGET_RATE), help="comma-separated output rates (default: %(default)s)")
    p.add_argument("--domains", default=",".join(catalogue.DOMAINS), help="comma-separated domains")
    p.add_argument("--min-duration", type=float, default=0.25, help="skip shorter files, seconds (default: %(default)s)")
    p.add_argument("--subtype", default="PCM_16", choices=["PCM_16", "PCM_24"], help="FLAC sample format")
    p.add_argument("--allow-missing-testset", action="store_true", help="build without a test set to check against")
    p.add_argument("--check-only", action="store_true", help="only check an existing corpus against the test set")
    return p.parse_args(argv)


class TestIndex:
    """What the training corpus must not contain: the test set's files, paths and checksums."""

    def __init__(self, test_rows: list[dict]):
        parts = [p for r in test_rows for p in (r.get("parts") or [r])]
        self.paths = {(r["source"], p["source_path"]) for r in test_rows for p in (r.get("parts") or [r])}
        self.orig = {p["orig_sha256"] for p in parts if p.get("orig_sha256")}
        self.audio = {p["audio_sha256"] for p in parts if p.get("audio_sha256")}


def process_file(source, pkg, path: str, rates: list[int], args, test: TestIndex, seen: set[str],
                 counts: dict, excluded: list[str], unreadable: list[str]) -> list[dict]:
    """Decode one training file and write it at every rate; returns its manifest rows ([] if skipped)."""
    if (source.package, path) in test.paths:
        excluded.append(f"{source.package}:{path} (path in test set)")
        return []
    local = pkg.local(path)
    orig = file_sha256(local)
    if orig in test.orig:
        excluded.append(f"{source.package}:{path} (file checksum in test set)")
        return []
    if orig in seen:
        counts["duplicate"] += 1
        return []
    try:
        dec = decode(local)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is skipped and counted
        counts["unreadable"] += 1
        unreadable.append(f"{source.package}:{path} ({str(exc)[:120]})")
        return []
    if dec.audio_sha256 in test.audio:
        excluded.append(f"{source.package}:{path} (decoded audio in test set)")
        return []
    if dec.audio_sha256 in seen:
        counts["duplicate"] += 1
        return []
    seen.update((orig, dec.audio_sha256))
    if len(dec.mono) < args.min_duration * dec.sample_rate:
        counts["too_short"] += 1
        return []
    rows = []
    stem = slug(PurePosixPath(path.replace("!", "/")).stem)
    for rate in rates:
        audio, gain = limit_peak(resample(dec.mono, dec.sample_rate, rate))
        rel = f"{rate}/{source.domain}/{slug(source.id)}/{stem}-{orig[:10]}.flac"
        write_flac_atomic(args.out / rel, audio, rate, args.subtype)
        bandwidth = analysis.measure_bandwidth(audio, rate)
        rows.append({
            "path": rel, "domain": source.domain, "sample_rate": rate, "duration": round(len(audio) / rate, 4),
            "full_band": analysis.is_full_band(bandwidth, dec.sample_rate, rate), "bandwidth_hz": round(bandwidth, 1),
            "weight": source.weight, "source": source.package, "package_version": pkg.version,
            "source_id": source.id, "source_path": path, "licence": source.licence,
            "sha256": file_sha256(args.out / rel), "orig_sha256": orig, "audio_sha256": dec.audio_sha256,
            "original_sample_rate": dec.sample_rate, "original_channels": dec.channels, "gain": round(gain, 6),
            "active_fraction": round(analysis.active_fraction(analysis.frame_levels_db(audio, rate)), 3),
        })
    return rows


def summarise(rows: list[dict]) -> dict:
    """Hours per rate and domain (all / full-band) and per source."""
    out: dict = {}
    for r in rows:
        d = out.setdefault(str(r["sample_rate"]), {}).setdefault(
            r["domain"], {"files": 0, "hours": 0.0, "full_band_hours": 0.0, "sources": {}})
        h = r["duration"] / 3600
        d["files"] += 1
        d["hours"] += h
        d["full_band_hours"] += h if r["full_band"] else 0.0
        d["sources"][r["source_id"]] = round(d["sources"].get(r["source_id"], 0.0) + h, 4)
    for per_rate in out.values():
        for d in per_rate.values():
            d["hours"], d["full_band_hours"] = round(d["hours"], 3), round(d["full_band_hours"], 3)
    return out


def load_testset(args) -> list[dict] | None:
    rows = read_jsonl(args.testset / "manifest.jsonl")
    if not rows and not args.allow_missing_testset:
        print(f"error: no test set at {args.testset}/manifest.jsonl; build it first "
              "(python scripts/build_testset.py) or pass --allow-missing-testset", file=sys.stderr)
        return None
    if not rows:
        print("WARNING: building without a test set: disjointness is checked against the catalogue only")
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    t0 = time.time()
    errors = catalogue.catalogue_errors()
    if errors:
        print("catalogue errors:\n  " + "\n  ".join(errors), file=sys.stderr)
        return 2
    test_rows = load_testset(args)
    if test_rows is None:
        return 2
    problems = disjointness_problems(test_rows, [], catalogue.SOURCES)
    if problems:
        raise DisjointnessError("the test set does not match the catalogue:\n  " + "\n  ".join(problems))
    if args.check_only:
        check_disjoint(test_rows, read_jsonl(args.out / "manifest.jsonl"), catalogue.SOURCES)
        print("test set and corpus are disjoint")
        return 0
    rates = [int(r) for r in args.rates.split(",")]
    domains = tuple(d.strip() for d in args.domains.split(",") if d.strip())
    train = catalogue.select("train", domains)
    unpacked, files, failures = prepare_sources(train, catalogue.SOURCES, catalogue.PACKAGES, args.cache,
                                                lambda m: tqdm.write(m))
    partial = args.out / "manifest.partial.jsonl"
    done: dict[tuple[str, str], list[dict]] = {}
    for r in read_jsonl(partial):
        if r["sample_rate"] in rates and (args.out / r["path"]).exists():
            done.setdefault((r["source_id"], r["source_path"]), []).append(r)
    done = {k: v for k, v in done.items() if {r["sample_rate"] for r in v} == set(rates)}
    seen = {r[k] for v in done.values() for r in v for k in ("orig_sha256", "audio_sha256")}
    jobs = [(s, p) for s in train if s.id in files for p in files[s.id]]
    counts = {"duplicate": 0, "unreadable": 0, "too_short": 0, "resumed": 0}
    excluded: list[str] = []
    unreadable: list[str] = []
    test = TestIndex(test_rows)
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    with open(partial, "a") as log:
        for source, path in tqdm(jobs, desc="corpus", mininterval=2.0):
            if (source.id, path) in done:
                counts["resumed"] += 1
                rows += done[(source.id, path)]
                continue
            new = process_file(source, unpacked[source.package], path, rates, args, test, seen, counts, excluded,
                               unreadable)
            for r in new:
                log.write(json.dumps(r, sort_keys=True) + "\n")
            log.flush()
            rows += new
    rows.sort(key=lambda r: r["path"])
    check_disjoint(test_rows, rows, catalogue.SOURCES)
    copy_licences(unpacked, args.out)
    write_jsonl_atomic(args.out / "manifest.jsonl", rows)
    summary = {"rates": summarise(rows), "skipped": counts, "excluded_test_overlap": excluded,
               "unreadable": unreadable,
               "failed_packages": failures, "seconds": round(time.time() - t0, 1)}
    write_json_atomic(args.out / "summary.json", summary)
    for rate, per_domain in summary["rates"].items():
        for domain, d in per_domain.items():
            print(f"{rate} Hz {domain:14s} {d['files']:6d} files {d['hours']:7.2f} h "
                  f"({d['full_band_hours']:.2f} h full-band)")
    if excluded:
        print(f"WARNING: {len(excluded)} training files were left out because the test set holds them:\n  "
              + "\n  ".join(excluded[:20]))
    if unreadable:
        print("unreadable files:\n  " + "\n  ".join(unreadable))
    print(f"skipped: {counts}; failed packages: {failures or 'none'}; {summary['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
