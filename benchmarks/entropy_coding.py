"""Entropy coding: payload bits per second with none / static / lm, and encode/decode speed.

For every clip of a test-set manifest (JSON lines with ``path`` and ``domain``), the
codec's codes are computed once with all codebooks; then for each number of codebooks
``n`` and each coding, every chunk (the file format's chunk length) is coded exactly as
``RvqWriter`` would code it (stored raw when coding would not shrink it) and the payload
bytes are summed, so the figures are those of real ``.rvq`` files minus the constant
header. Every LM-coded clip at full bitrate is decoded again and checked to give the
same codes. Speed: whole ``rvqgan.compress`` / ``decompress`` runs (audio file to
``.rvq`` to audio file) on a few clips per domain, as real-time factors
(audio seconds / wall seconds, higher is faster), with the number of threads given.

Run (the bundled default model and the real test set, 2 threads)::

    python benchmarks/entropy_coding.py --model default --manifest data/testset/manifest.jsonl \\
        --threads 2 --out bench_entropy.json

``--per-domain`` and ``--seconds`` shorten a run; ``--speed-clips 0`` skips the timing.
``--quality realtime|best`` or ``--refine STEPS [--refine-sisdr W] [--refine-lr LR]`` codes the codes
``rvqgan encode`` writes with them (a search per number of codebooks, so give few ``--n-codebooks``;
without either, the one-pass encode's codes, ``--quality fast``): do the code LM's
savings hold on codes chosen by search? The model must have its code LM and
static tables beside it (``rvqgan train-lm``); codings it lacks are skipped and named.
"""

from __future__ import annotations

import os
import sys


def _threads_from_argv() -> int:
    for i, arg in enumerate(sys.argv):
        if arg == "--threads" and i + 1 < len(sys.argv):
            return int(sys.argv[i + 1])
        if arg.startswith("--threads="):
            return int(arg.split("=", 1)[1])
    return 2


# BLAS thread pools are sized when numpy loads: set them before any import.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = str(_threads_from_argv())

import argparse
import json
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

import rvqgan
from rvqgan.audio import read_audio
from rvqgan.bitstream import default_chunk_frames, packed_size
from rvqgan.entropy.coder import LMCoder, StaticCoder
from rvqgan.entropy.model_files import entropy_models_of
from rvqgan.inference import QUALITIES, encode_long, encoder_search, quality_preset, search_for

CODINGS = ("none", "static", "lm")


def read_clips(manifest: Path, per_domain: int | None) -> list[tuple[str, Path]]:
    """(domain, path) of the manifest's clips, at most ``per_domain`` each, spread evenly."""
    by_domain: dict[str, list[Path]] = defaultdict(list)
    for line in manifest.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            by_domain[item["domain"]].append((manifest.parent / item["path"]).resolve())
    clips = []
    for domain, paths in sorted(by_domain.items()):
        if per_domain is not None and per_domain < len(paths):
            paths = [paths[i * len(paths) // per_domain] for i in range(per_domain)]
        clips += [(domain, p) for p in paths]
    return clips


def coders(model, channels: int, n: int, available: list[str]) -> dict[str, object]:
    found = entropy_models_of(model)
    out: dict[str, object] = {"none": None}
    if "static" in available:
        out["static"] = StaticCoder(found.get("static").model.frequencies, channels, n)
    if "lm" in available:
        out["lm"] = LMCoder(found.get("lm").model, channels, n)
    return out


def payload_bytes(codes: np.ndarray, coder, chunk: int, bits: int) -> tuple[int, float]:
    """Bytes the file's chunk payloads take, and seconds spent coding."""
    total, spent = 0, 0.0
    for start in range(0, codes.shape[2], chunk):
        piece = codes[:, :, start : start + chunk]
        raw = packed_size(piece.size, bits)
        if coder is None:
            total += raw
            continue
        began = time.perf_counter()
        coded = coder.encode(piece)
        spent += time.perf_counter() - began
        total += min(raw, len(coded)) if coded else raw
    return total, spent


def check_lm_round_trip(codes: np.ndarray, coder: LMCoder, chunk: int) -> float:
    """Decode every LM-coded chunk and compare; returns the seconds decoding took."""
    spent = 0.0
    for start in range(0, codes.shape[2], chunk):
        piece = codes[:, :, start : start + chunk]
        payload = coder.encode(piece)
        began = time.perf_counter()
        back = coder.decode(coder.kind, payload, piece.shape[2])
        spent += time.perf_counter() - began
        if not np.array_equal(back, piece):
            raise SystemExit("LM round trip FAILED: decoded codes differ")
    return spent


def measure_sizes(model, clips, n_list, available, seconds, chunk, refine=None) -> dict:
    """Per (domain, n, coding): payload bits and audio seconds; plus LM coding times."""
    sums: dict = defaultdict(lambda: [0, 0.0])
    lm_time = defaultdict(float)
    for number, (domain, path) in enumerate(clips, 1):
        audio, _ = read_audio(path, model.sample_rate)
        if seconds:
            audio = audio[:, : int(seconds * model.sample_rate)]
        duration = audio.shape[1] / model.sample_rate
        tensor = torch.from_numpy(np.ascontiguousarray(audio))
        searches = {n: search_for(refine, n, model) for n in n_list}
        if any(search is None for search in searches.values()):
            with torch.inference_mode():  # one encode: the codes for n codebooks are its first n
                plain = encode_long(model, tensor).numpy()
        for n in n_list:
            if searches[n] is None:
                codes = plain
            else:  # a search per number of codebooks, as compress makes it
                codes = encode_long(model, tensor, n_quantizers=n, refine=searches[n]).numpy()
            for coding, coder in coders(model, codes.shape[0], n, available).items():
                size, spent = payload_bytes(codes[:, :n], coder, chunk, (model.codebook_size - 1).bit_length())
                cell = sums[(domain, n, coding)]
                cell[0] += 8 * size
                cell[1] += duration
                if coding == "lm" and n == n_list[-1]:
                    lm_time["encode"] += spent
                    lm_time["decode"] += check_lm_round_trip(codes[:, :n], coder, chunk)
                    lm_time["audio"] += duration
        print(f"[{number}/{len(clips)}] {domain} {path.name}", file=sys.stderr)
    return {"sums": sums, "lm_time": dict(lm_time)}


def measure_speed(model, clips, available, seconds, per_domain: int) -> dict:
    """End-to-end real-time factors of compress / decompress per coding (full bitrate)."""
    import soundfile as sf

    chosen, seen = [], defaultdict(int)
    for domain, path in clips:
        if seen[domain] < per_domain:
            chosen.append(path)
            seen[domain] += 1
    times: dict = {c: {"encode": 0.0, "decode": 0.0, "audio": 0.0} for c in available}
    with tempfile.TemporaryDirectory() as folder:
        for i, path in enumerate(chosen):
            audio, rate = read_audio(path)
            if seconds:
                audio = audio[:, : int(seconds * rate)]
            source = Path(folder) / f"{i}.wav"
            sf.write(source, audio.T, rate, subtype="FLOAT")
            for coding in available:
                target = Path(folder) / f"{i}.{coding}.rvq"
                began = time.perf_counter()
                rvqgan.compress(model, source, target, entropy=coding, overwrite=True)
                middle = time.perf_counter()
                rvqgan.decompress(target, Path(folder) / f"{i}.{coding}.wav", model, overwrite=True)
                times[coding]["encode"] += middle - began
                times[coding]["decode"] += time.perf_counter() - middle
                times[coding]["audio"] += audio.shape[1] / rate
    return {
        c: {"encode_rtf": t["audio"] / t["encode"], "decode_rtf": t["audio"] / t["decode"], "audio_seconds": t["audio"]}
        for c, t in times.items()
    }


def report(model, sizes: dict, speed: dict, n_list, available, args) -> dict:
    sums = sizes["sums"]
    domains = sorted({d for d, _, _ in sums})
    rows = []
    print(
        f"\nPayload kbit/s (all channels) of {model.name} ({model.content_hash[:12]}), "
        f"saving vs none in brackets; chunk {args.chunk_frames} frames"
        + (f"; codes refined with {args.refine} steps, SI-SDR weight {args.refine_sisdr:g}, "
           f"learning rate {args.refine_lr or 'default'}" if args.refine else "")
        + (f"; codes of --quality {args.quality}" if args.quality else "")
    )
    print("| domain | n | " + " | ".join(available) + " |")
    print("|---|---|" + "---|" * len(available))
    for domain in domains + ["all"]:
        for n in n_list:
            cells, row = [], {"domain": domain, "n_codebooks": n}
            for coding in available:
                keys = [(d, n, coding) for d in domains] if domain == "all" else [(domain, n, coding)]
                bits = sum(sums[k][0] for k in keys)
                secs = sum(sums[k][1] for k in keys)
                row[coding] = bits / secs / 1000
            for coding in available:
                saving = 100 * (1 - row[coding] / row["none"])
                cells.append(f"{row[coding]:.3f}" + ("" if coding == "none" else f" ({saving:+.1f}%)"))
            rows.append(row)
            print(f"| {domain} | {n} | " + " | ".join(cells) + " |")
    lm_time = sizes["lm_time"]
    if lm_time.get("audio"):
        print(
            f"\nLM coding alone at n={n_list[-1]}: encode x{lm_time['audio'] / lm_time['encode']:.2f} "
            f"real time, decode x{lm_time['audio'] / lm_time['decode']:.2f} real time"
        )
    print(f"\nEnd to end on {args.threads} thread(s) (real-time factor, higher is faster):")
    print("| coding | encode | decode |\n|---|---|---|")
    for coding, figures in speed.items():
        print(f"| {coding} | x{figures['encode_rtf']:.2f} | x{figures['decode_rtf']:.2f} |")
    return {
        "model": model.name,
        "model_hash": model.content_hash,
        "threads": args.threads,
        "chunk_frames": args.chunk_frames,
        "rows": rows,
        "lm_coding": lm_time,
        "end_to_end": speed,
        "clips": args.n_clips,
        "seconds_cap": args.seconds,
        "quality": args.quality or ("fast" if not args.refine else None),
        "refine_steps": args.refine,
        "refine_sisdr": args.refine_sisdr,
        "refine_lr": args.refine_lr,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default", help="bundled model name or checkpoint path")
    parser.add_argument("--manifest", type=Path, default=Path("data/testset/manifest.jsonl"))
    parser.add_argument("--per-domain", type=int, default=None, help="clips per domain (default all)")
    parser.add_argument("--seconds", type=float, default=None, help="cut clips to this length")
    parser.add_argument(
        "--n-codebooks", type=int, nargs="*", default=None, help="numbers of codebooks (default 1, 2, 4, ... and all)"
    )
    parser.add_argument("--chunk-frames", type=int, default=None, help="chunk length (default the format's)")
    parser.add_argument("--speed-clips", type=int, default=2, help="clips per domain timed end to end")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quality", choices=QUALITIES, default=None,
                        help="code the codes of this preset (rvqgan encode --quality; default fast, the one-pass encode)")
    parser.add_argument("--refine", type=int, default=0, metavar="STEPS", help="code refined codes (rvqgan encode --refine)")
    parser.add_argument("--refine-sisdr", type=float, default=0.0, metavar="W", help="with --refine: its SI-SDR term")
    parser.add_argument("--refine-lr", type=float, default=None, metavar="LR", help="with --refine: its learning rate")
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = rvqgan.load_model(args.model)
    k = model.n_codebooks
    n_list = args.n_codebooks or sorted({1, *[2**i for i in range(1, k.bit_length()) if 2**i < k], k})
    args.chunk_frames = args.chunk_frames or default_chunk_frames(model.frame_rate)
    available = ["none"] + [c for c in ("static", "lm") if entropy_models_of(model).available(c)]
    missing = sorted(set(CODINGS) - set(available))
    if missing:
        print(f"note: the model has no {' / '.join(missing)} entropy model; skipped", file=sys.stderr)
    clips = read_clips(args.manifest, args.per_domain)
    args.n_clips = len(clips)
    if args.quality and args.refine:
        raise SystemExit("--quality and --refine are alternatives")
    refine = (quality_preset(args.quality) if args.quality
              else encoder_search(None, args.refine, args.refine_sisdr, args.refine_lr))
    sizes = measure_sizes(model, clips, n_list, available, args.seconds, args.chunk_frames, refine)
    speed = measure_speed(model, clips, available, args.seconds, args.speed_clips) if args.speed_clips else {}
    figures = report(model, sizes, speed, n_list, available, args)
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
