"""Snake's fused backward (rvqgan.nn.snake) against autograd through the eager expression.

Part 1 times the activation alone at the decoder's shapes for 10 s of 44.1 kHz audio,
forward and backward, for the input gradient alone (the encoder's search, alpha frozen)
and for both gradients (training). Part 2 times the encoder's search on the bundled model
(``encode_long`` of 10 s of the test recording, the realtime preset's settings at full
bitrate) with every Snake routed through each, interleaved in this process, and checks
that both choose the same codes up to float rounding. Part 3 times the generator's side of a
training step of the default CPU recipe (``configs/default_cpu.yaml`` at batch 12 x 0.38 s):
forward, the mel and L1 reconstruction terms, and backward into every weight and alpha.

    python benchmarks/snake_speed.py --threads 2 --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from dilated_backward import median_ms  # benchmarks/: its median-of-repeats timer

import rvqgan
import rvqgan.nn.snake as snake_module
from rvqgan.audio import read_audio
from rvqgan.inference import RefineConfig, encode_long
from rvqgan.nn.snake import snake, snake_reference

SHAPES = ((96, 55_125), (48, 220_500), (24, 441_000))  # channels, samples: the decoder's last blocks
CLIP = Path(__file__).resolve().parents[1] / "tests" / "data" / "ambi_piano.flac"
ROUTES: dict[str, Callable] = {"eager (autograd)": snake_reference, "rvqgan.nn.snake": snake}


def layer_table(repeats: int) -> None:
    print("Snake alone, batch 1, forward + backward (ms): input gradient only | input and alpha gradients")
    for channels, samples in SHAPES:
        x = torch.randn(1, channels, samples)
        alpha = 0.2 + 2 * torch.rand(1, channels, 1)
        g = torch.randn_like(x)
        row = []
        for fn in ROUTES.values():
            for wants_alpha in (False, True):
                xi, ai = x.clone().requires_grad_(True), alpha.clone().requires_grad_(wants_alpha)
                wanted = (xi, ai) if wants_alpha else (xi,)
                row.append(median_ms(lambda: torch.autograd.grad(fn(xi, ai), wanted, g), repeats))  # noqa: B023
        print(f"  C={channels:3d} T={samples:7d}: eager {row[0]:6.1f} | {row[1]:6.1f}   ours {row[2]:6.1f} | {row[3]:6.1f}"
              f"   ({row[0] / row[2]:.2f}x | {row[1] / row[3]:.2f}x)")


def search_table(repeats: int, seconds: float) -> None:
    model = rvqgan.load_model()
    x, _ = read_audio(CLIP, model.sample_rate)
    audio = np.resize(x[:1], (1, int(seconds * model.sample_rate))).astype(np.float32)
    config = RefineConfig(steps=8, lr=0.2, sisdr_weight=0.3, mel_weight=0.0)
    times: dict[str, list[float]] = {name: [] for name in ROUTES}
    codes = {}
    try:
        for _ in range(repeats + 1):  # the first round warms up and is not counted
            for name, fn in ROUTES.items():
                snake_module.snake = fn
                started = time.perf_counter()
                codes[name] = encode_long(model, audio, n_quantizers=9, refine=config)
                times[name].append(time.perf_counter() - started)
    finally:
        snake_module.snake = snake
    base = statistics.median(times["eager (autograd)"][1:])
    print(f"the encoder's search (8 steps, lr 0.2, SI-SDR 0.3, no mel; 9 codebooks) over {seconds:g} s, "
          f"medians of {repeats}:")
    for name, values in times.items():
        t = statistics.median(values[1:])
        print(f"  {name:18s} {t:6.2f} s, x{seconds / t:5.2f} real time ({base / t:.2f}x)")
    first, second = (np.asarray(c) for c in codes.values())
    agree = 100 * np.mean(first == second)
    print(f"  codes that agree: {agree:.2f}%" + ("" if agree == 100 else " (float rounding in the gradients moves a few)"))


def training_table(repeats: int) -> None:
    from rvqgan.losses import MelLoss
    from rvqgan.model import Codec
    from rvqgan.train import load_config

    config = load_config(Path(__file__).resolve().parents[1] / "configs" / "default_cpu.yaml")
    torch.manual_seed(0)
    model = Codec(config.model).train()
    mel = MelLoss(model.sample_rate)
    audio = model.pad_to_hop(0.1 * torch.randn(12, 1, int(0.38 * model.sample_rate)))

    def step() -> None:
        model.zero_grad(set_to_none=True)
        out = model(audio)
        loss = 15 * mel(out.audio, audio) + 500 * (out.audio - audio).abs().mean()
        loss.backward()

    times: dict[str, list[float]] = {name: [] for name in ROUTES}
    try:
        for round_ in range(repeats + 1):
            for name, fn in ROUTES.items():
                snake_module.snake = fn
                started = time.perf_counter()
                step()
                if round_:
                    times[name].append(time.perf_counter() - started)
    finally:
        snake_module.snake = snake
    base = statistics.median(times["eager (autograd)"])
    print(f"the generator's side of a default_cpu training step (batch 12 x 0.38 s), medians of {repeats}:")
    for name, values in times.items():
        t = statistics.median(values)
        print(f"  {name:18s} {t:6.2f} s ({base / t:.2f}x)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    layer_table(args.repeats)
    search_table(args.repeats, args.seconds)
    training_table(args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
