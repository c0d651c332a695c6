"""The dilated convolutions' backward on the CPU: autograd's (oneDNN) against rvqgan.nn.dilated.

Part 1 times one k = 7 convolution at the decoder's shapes for 10 s of 44.1 kHz audio:
its forward, the input gradient and the weight gradient as autograd computes them
(``aten::convolution_backward``), and the same two gradients as ``rvqgan.nn.dilated``
computes them. Part 2 times one step of the encoder's search (``--refine``) on the
bundled model, forward and backward over 10 s, with the dilated layers routed through
``rvqgan.nn.dilated`` and through plain ``F.conv1d``, interleaved in this process.

    python benchmarks/dilated_backward.py --threads 2 --repeats 7
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

import rvqgan
import rvqgan.nn.conv as conv_module
from rvqgan.inference.refine import RefineConfig, _objective
from rvqgan.losses import MelLoss
from rvqgan.nn.dilated import _DilatedConv1d, uses_fast_backward

SHAPES = ((6, 441_000), (12, 220_500), (24, 55_125))  # channels, samples: the decoder's last blocks


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def time_layer(channels: int, samples: int, dilation: int, repeats: int) -> tuple[float, ...]:
    """Forward, autograd's input and weight gradients, ours (ms) for one k=7 convolution."""
    x, w = torch.randn(1, channels, samples), torch.randn(channels, channels, 7)
    g, pad = torch.randn(1, channels, samples), 3 * dilation
    common = ([channels], [1], [pad], [dilation], False, [0], 1)
    backward = torch.ops.aten.convolution_backward
    figures = [
        median_ms(lambda: F.conv1d(x, w, None, 1, pad, dilation), repeats),
        median_ms(lambda: backward(g, x, w, *common, [True, False, False]), repeats),
        median_ms(lambda: backward(g, x, w, *common, [False, True, True]), repeats),
    ]
    for wanted_input in (True, False):
        xi, wi = x.clone().requires_grad_(wanted_input), w.clone().requires_grad_(not wanted_input)
        y = _DilatedConv1d.apply(xi, wi, None, pad, dilation)
        wanted = [xi if wanted_input else wi]
        figures.append(median_ms(lambda: torch.autograd.grad(y, wanted, g, retain_graph=True), repeats))  # noqa: B023
    return tuple(figures)


def layer_table(repeats: int) -> None:
    print("one k=7 convolution, batch 1: forward | autograd's input grad, weight grad | ours, ours (ms)")
    for channels, samples in SHAPES:
        for dilation in (1, 3, 9):
            fwd, theirs_x, theirs_w, ours_x, ours_w = time_layer(channels, samples, dilation, repeats)
            print(f"  C={channels:3d} T={samples:7d} dilation {dilation}: {fwd:6.1f} | {theirs_x:6.1f} {theirs_w:6.1f}"
                  f" | {ours_x:6.1f} {ours_w:6.1f}")


def refine_step_table(repeats: int) -> None:
    model = rvqgan.load_model().eval()
    for p in model.parameters():
        p.requires_grad_(False)
    audio = model.pad_to_hop(torch.randn(1, 1, 441_000) * 0.1)
    mel, config = MelLoss(model.sample_rate), RefineConfig(steps=1, sisdr_weight=0.3)
    with torch.no_grad():
        z0 = model.encoder(audio)

    def step() -> None:
        z = z0.clone().requires_grad_(True)
        _objective(model, mel, model.quantizer(z, 9).z_q, audio, config).sum().backward()

    routes = {"F.conv1d (autograd)": lambda *args: False, "rvqgan.nn.dilated": uses_fast_backward}
    times: dict[str, list[float]] = {name: [] for name in routes}
    try:
        for name, route in routes.items():  # warm both
            conv_module.uses_fast_backward = route
            step()
        for _ in range(repeats):
            for name, route in routes.items():
                conv_module.uses_fast_backward = route
                started = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - started)
    finally:
        conv_module.uses_fast_backward = uses_fast_backward
    base = statistics.median(times["F.conv1d (autograd)"])
    print(f"one refine step of the bundled model over 10 s (forward + backward), medians of {repeats}:")
    for name, values in times.items():
        print(f"  {name:22s} {statistics.median(values):6.3f} s  ({base / statistics.median(values):.2f}x)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    layer_table(args.repeats)
    refine_step_table(args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
