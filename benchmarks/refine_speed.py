"""How much slower encoder refinement is than the plain encode (``rvqgan encode --refine``).

Times ``encode_long`` of the same real audio (the test recording, looped to ``--seconds``)
with and without refinement, at each thread count, interleaved, and prints medians and
real-time factors. Quality is measured by ``rvqgan eval --refine`` (docs/inference.md).

    python benchmarks/refine_speed.py --seconds 10 --steps 20 40 --threads 1 2 --repeats 3 [--sisdr 0.3]

With several ``--model`` (names or model files), every model's encodes are interleaved in
the same loop, and each line names its model; ``--steps 0`` times the plain encodes alone:

    python benchmarks/refine_speed.py --model default WIDE.safetensors --steps 0 --threads 2 --repeats 5

``--chunk-frames N`` times ``encode_long`` with chunks of N frames instead of the default;
``--mel 1 0`` times every search with and without the mel term (``--refine-mel``).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from pathlib import Path

import numpy as np
import torch

import rvqgan
from rvqgan.audio import read_audio
from rvqgan.inference import RefineConfig, encode_long
from rvqgan.inference.chunked import DEFAULT_CHUNK_FRAMES

CLIP = Path(__file__).resolve().parents[1] / "tests" / "data" / "ambi_piano.flac"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", nargs="+", default=["default"], help="bundled names or model files")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--steps", type=int, nargs="+", default=[20, 40], help="0: the plain encode only")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chunk-frames", type=int, default=DEFAULT_CHUNK_FRAMES,
                        help="frames per chunk of encode_long (the CLI's and eval's default: %(default)s)")
    parser.add_argument("--sisdr", type=float, nargs="*", default=[],
                        help="also time each step count with these SI-SDR weights (--refine-sisdr)")
    parser.add_argument("--lr", type=float, default=RefineConfig.lr, help="the search's learning rate (--refine-lr)")
    parser.add_argument("--mel", type=float, nargs="+", default=[1.0],
                        help="time each search with each of these mel weights (--refine-mel; 0 leaves the term out)")
    args = parser.parse_args()
    models = {name: rvqgan.load_model(name) for name in args.model}
    rates = {model.sample_rate for model in models.values()}
    if len(rates) > 1:
        raise SystemExit(f"the models code different sample rates ({sorted(rates)}); time them separately")
    rate = rates.pop()
    x, _ = read_audio(CLIP, rate)
    n = int(args.seconds * rate)
    audio = np.resize(x[:1], (1, n)).astype(np.float32)  # mono, looped to the length asked
    steps = [s for s in args.steps if s != 0]  # a negative count still reaches RefineConfig, which refuses it
    configs = {"plain": None}
    for s, w, m in itertools.product(steps, [0.0, *args.sisdr], args.mel):
        label = f"refine {s}" + (f" sisdr {w:g}" if w else "") + ("" if m == 1 else f" mel {m:g}")
        configs[label] = RefineConfig(steps=s, lr=args.lr, sisdr_weight=w, mel_weight=m)
    print(f"{', '.join(args.model)}, {args.seconds:g} s of audio, chunks of {args.chunk_frames} frames, "
          f"medians of {args.repeats}")
    for threads in args.threads:
        torch.set_num_threads(threads)
        times: dict[tuple[str, str], list[float]] = {(m, c): [] for m in models for c in configs}
        for _ in range(args.repeats):
            for (name, config_name), values in times.items():
                started = time.perf_counter()
                encode_long(models[name], audio, refine=configs[config_name], chunk_frames=args.chunk_frames)
                values.append(time.perf_counter() - started)
        for (name, config_name), values in times.items():
            t, plain = statistics.median(values), statistics.median(times[name, "plain"])
            label = config_name if len(models) == 1 else f"{name}: {config_name}"
            print(f"threads {threads}: {label:>20}: {t:7.2f} s, x{args.seconds / t:6.2f} real time, "
                  f"{t / plain:5.1f}x the plain encode")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
