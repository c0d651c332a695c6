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
``--quality realtime best`` also times the searches those presets (``rvqgan encode --quality``)
run for ``--codebooks N`` (default every codebook):

    python benchmarks/refine_speed.py --steps 0 --quality realtime --codebooks 9 7 --threads 2 --repeats 5
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
from rvqgan.inference import QUALITIES, RefineConfig, encode_long, quality_preset, search_for
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
    parser.add_argument("--quality", nargs="*", default=[], choices=QUALITIES,
                        help="also time the searches of these presets (rvqgan encode --quality)")
    parser.add_argument("--codebooks", type=int, nargs="+", default=[None],
                        help="encode with these numbers of codebooks (default all); the presets pick per number")
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
    configs: dict[str, object] = {"plain": None}  # a RefineConfig, or a preset that picks one per codebook count
    for s, w, m in itertools.product(steps, [0.0, *args.sisdr], args.mel):
        label = f"refine {s}" + (f" sisdr {w:g}" if w else "") + ("" if m == 1 else f" mel {m:g}")
        configs[label] = RefineConfig(steps=s, lr=args.lr, sisdr_weight=w, mel_weight=m)
    for name in args.quality:
        configs[f"--quality {name}"] = quality_preset(name)
    print(f"{', '.join(args.model)}, {args.seconds:g} s of audio, chunks of {args.chunk_frames} frames, "
          f"medians of {args.repeats}")
    runs = list(itertools.product(models, args.codebooks, configs))  # (model, codebooks, config label)
    for threads in args.threads:
        torch.set_num_threads(threads)
        times: dict[tuple, list[float]] = {run: [] for run in runs}
        for _ in range(args.repeats):
            for name, n, label in runs:
                model = models[name]
                search = search_for(configs[label], n or model.n_codebooks, model)
                started = time.perf_counter()
                encode_long(model, audio, n_quantizers=n, refine=search, chunk_frames=args.chunk_frames)
                times[name, n, label].append(time.perf_counter() - started)
        for (name, n, label), values in times.items():
            t, plain = statistics.median(values), statistics.median(times[name, n, "plain"])
            where = ([name] if len(models) > 1 else []) + ([f"{n} codebooks"] if n else [])
            label = ": ".join([*where, label])
            print(f"threads {threads}: {label:>32}: {t:7.2f} s, x{args.seconds / t:6.2f} real time, "
                  f"{t / plain:5.1f}x the plain encode")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
