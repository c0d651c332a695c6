"""How much slower encoder refinement is than the plain encode (``rvqgan encode --refine``).

Times ``encode_long`` of the same real audio (the test recording, looped to ``--seconds``)
with and without refinement, at each thread count, interleaved, and prints medians and
real-time factors. Quality is measured by ``rvqgan eval --refine`` (docs/inference.md).

    python benchmarks/refine_speed.py --seconds 10 --steps 20 40 --threads 1 2 --repeats 3 [--sisdr 0.3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch

import rvqgan
from rvqgan.audio import read_audio
from rvqgan.inference import RefineConfig, encode_long

CLIP = Path(__file__).resolve().parents[1] / "tests" / "data" / "ambi_piano.flac"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--steps", type=int, nargs="+", default=[20, 40])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sisdr", type=float, nargs="*", default=[],
                        help="also time each step count with these SI-SDR weights (--refine-sisdr)")
    args = parser.parse_args()
    model = rvqgan.load_model(args.model)
    x, _ = read_audio(CLIP, model.sample_rate)
    n = int(args.seconds * model.sample_rate)
    audio = np.resize(x[:1], (1, n)).astype(np.float32)  # mono, looped to the length asked
    print(f"{args.model}, {args.seconds:g} s of audio, medians of {args.repeats}")
    for threads in args.threads:
        torch.set_num_threads(threads)
        configs = {"plain": None, **{f"refine {s}": RefineConfig(steps=s) for s in args.steps}}
        configs.update({f"refine {s} sisdr {w:g}": RefineConfig(steps=s, sisdr_weight=w) for s in args.steps for w in args.sisdr})
        times: dict[str, list[float]] = {name: [] for name in configs}
        for _ in range(args.repeats):
            for name, config in configs.items():
                started = time.perf_counter()
                encode_long(model, audio, refine=config)
                times[name].append(time.perf_counter() - started)
        plain = statistics.median(times["plain"])
        for name, values in times.items():
            t = statistics.median(values)
            print(f"threads {threads}: {name:>20}: {t:7.2f} s, x{args.seconds / t:6.2f} real time, "
                  f"{t / plain:5.1f}x the plain encode")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
