"""What a codec running at a lower sample rate gives up before it codes anything.

A codec that runs at rate R can at best return the input band-limited to R/2. This
script measures that best case on the real test set: every clip is resampled (soxr,
very high quality) from 44.1 kHz to R and back, and scored against the original with
the evaluation's own metrics (``rvqgan.eval.MetricSuite``: mel and STFT distance,
SI-SDR). The figures are floors: a trained codec at rate R scores no better than its
row. Used to choose the default model's sample rate (docs/recipe.md).

Run::

    python benchmarks/sample_rate_ceiling.py --manifest data/testset/manifest.jsonl \\
        --per-domain 10 --rates 32000 24000 16000

Prints one table (means over clips, per domain and over all) and, with ``--out``,
writes the per-clip figures as JSON.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from rvqgan.eval.codecs import fit_length
from rvqgan.eval.metrics import MetricSuite, resample
from rvqgan.eval.testset import DOMAINS, load_testset, read_clip

REFERENCE_RATE = 44100
METRICS = ("mel", "stft", "sisdr")


def band_limit(audio: np.ndarray, rate: int) -> np.ndarray:
    """``audio`` (44.1 kHz) through rate ``rate`` and back, at its own length."""
    down = resample(audio, REFERENCE_RATE, rate)
    return fit_length(resample(down, rate, REFERENCE_RATE), audio.shape[0])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", required=True, help="test-set manifest (JSON lines)")
    parser.add_argument("--per-domain", type=int, default=10, help="clips per domain, spread evenly")
    parser.add_argument("--rates", type=int, nargs="+", default=[32000, 24000, 16000])
    parser.add_argument("--seconds", type=float, default=None, help="keep only each clip's first seconds")
    parser.add_argument("--out", type=Path, default=None, help="write per-clip figures here (JSON)")
    args = parser.parse_args(argv)
    if any(rate <= 0 or rate > REFERENCE_RATE for rate in args.rates):
        parser.error(f"rates must be in (0, {REFERENCE_RATE}]")

    torch.set_num_threads(1)
    suite = MetricSuite(REFERENCE_RATE, visqol=False, speech=False)
    clips = load_testset(args.manifest, limit=args.per_domain)
    rows = []
    for clip in clips:
        audio = read_clip(clip, REFERENCE_RATE, args.seconds)
        for rate in args.rates:
            scores = suite(audio, band_limit(audio, rate), clip.domain)
            rows.append({"clip": clip.id, "domain": clip.domain, "rate": rate, **{m: scores[m] for m in METRICS}})

    table: dict[tuple[str, int], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        for group in (row["domain"], "all"):
            for metric in METRICS:
                table[group, row["rate"]][metric].append(row[metric])
    print(f"{len(clips)} clips; means over clips of the original against its band-limited copy")
    print("| domain | rate (Hz) | bandwidth (kHz) | mel | STFT | SI-SDR (dB) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for group in (*DOMAINS, "all"):
        for rate in args.rates:
            cell = table.get((group, rate))
            if not cell:
                continue
            means = {m: float(np.mean(v)) for m, v in cell.items()}
            print(
                f"| {group} | {rate} | {rate / 2000:.1f} | {means['mel']:.2f} | {means['stft']:.2f} | "
                f"{means['sisdr']:.1f} |"
            )
    if args.out is not None:
        args.out.write_text(json.dumps(rows, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
