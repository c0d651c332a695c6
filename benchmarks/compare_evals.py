"""Paired comparison of models evaluated on the same clips (an A/B of two recipes).

Each argument is an ``rvqgan eval`` output folder (its ``results.csv``); the first is the
baseline. For every metric and setting, each candidate's per-clip difference from the
baseline is summarized: the mean difference with its 95% Student-t interval, the median
difference, and on how many clips the candidate is better. Pairing by clip removes most
of the clip-to-clip spread that makes the means' own intervals wide.

Run (the A/B of docs/recipe.md)::

    python benchmarks/compare_evals.py EVAL/base7600 EVAL/wave125_7600 EVAL/sisdr1_7600 \\
        --settings q1 q7 q9

A folder evaluated with several codecs must name one with ``FOLDER:CODEC``.
``FOLDER:CODEC@SETTING`` pairs every compared setting with that one setting of the
codec: a model against Opus at one bitrate, from the same evaluation, per domain:

    python benchmarks/compare_evals.py EVAL:opus@8kbps EVAL:default --settings q9 --domain speech
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
from pathlib import Path

from rvqgan.eval.metrics import HIGHER_IS_BETTER
from rvqgan.eval.report import mean_ci

METRICS = ("mel", "stft", "sisdr")


ANY = "*"  # the setting key of a codec pinned to one setting with @SETTING


def load(spec: str, domain: str | None = None) -> tuple[str, dict[tuple[str, str], dict[str, float]]]:
    """``FOLDER[:CODEC][@SETTING]`` -> (codec name, {(clip, setting): {metric: value}}); with
    ``@SETTING``, that setting's rows alone, under the setting ``ANY``."""
    spec, _, pinned = spec.partition("@")
    folder, _, codec = spec.partition(":")
    path = Path(folder) / "results.csv"
    if not path.is_file():
        raise SystemExit(f"{path} not found: give rvqgan eval output folders")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    names = sorted({row["codec"] for row in rows})
    if not codec:
        if len(names) != 1:
            raise SystemExit(f"{folder} holds codecs {names}; name one as {folder}:CODEC")
        codec = names[0]
    out = {}
    for row in rows:
        if row["codec"] != codec or (domain and row["domain"] != domain) or (pinned and row["setting"] != pinned):
            continue
        setting = ANY if pinned else row["setting"]
        out[row["clip"], setting] = {m: float(row[m]) if row[m] else math.nan for m in METRICS}
    if not out:
        raise SystemExit(f"{folder} has no rows of codec {codec!r}" + (f" at {pinned}" if pinned else "")
                         + (f" in domain {domain}" if domain else "") + f" (it has {names})")
    return codec + (f" {pinned}" if pinned else ""), out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", help="rvqgan eval output folders; the first is the baseline")
    parser.add_argument("--settings", nargs="+", default=["q9"], help="settings to compare (e.g. q1 q9)")
    parser.add_argument("--domain", help="compare only the clips of this domain")
    args = parser.parse_args(argv)
    if len(args.folders) < 2:
        parser.error("give a baseline folder and at least one candidate")
    base_name, base = load(args.folders[0], args.domain)
    print(f"baseline: {base_name}; differences are candidate - baseline, per clip")
    print("| candidate | setting | metric | baseline mean | candidate mean | mean difference (95% CI) | median difference | clips better |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for spec in args.folders[1:]:
        name, cand = load(spec, args.domain)
        for setting in args.settings:
            clips = sorted({clip for clip, s in cand if s in (setting, ANY)})
            keys = [(clip, setting) for clip in clips]
            pairs_of = [(base.get(k, base.get((k[0], ANY))), cand.get(k, cand.get((k[0], ANY)))) for k in keys]
            pairs_of = [(b, c) for b, c in pairs_of if b is not None and c is not None]
            if not pairs_of:
                print(f"| {name} | {setting} | (no clips in common) | | | | | |")
                continue
            for metric in METRICS:
                pairs = [(b[metric], c[metric]) for b, c in pairs_of]
                pairs = [(b, c) for b, c in pairs if math.isfinite(b) and math.isfinite(c)]
                diffs = [c - b for b, c in pairs]
                mean, half, n = mean_ci(diffs)
                sign = 1 if HIGHER_IS_BETTER[metric] else -1
                better = sum(1 for d in diffs if sign * d > 0)
                print(
                    f"| {name} | {setting} | {metric} | {statistics.fmean(b for b, _ in pairs):.2f} | "
                    f"{statistics.fmean(c for _, c in pairs):.2f} | {mean:+.2f} ± {half:.2f} | "
                    f"{statistics.median(diffs):+.2f} | {better}/{n} |"
                )


if __name__ == "__main__":
    main()
