"""Streaming latency and speed on the CPU: algorithmic latency, per-frame compute, whole-stream speed.

For causal 44.1 kHz models (hop 512, 9 codebooks) of several widths, with random
weights (the time does not depend on the values):

1. Algorithmic latency: the wait, ignoring compute, from a sample entering the encoder
   to the decoded output that holds it. The encoder completes a frame when the last
   sample of its hop arrives and the causal decoder emits that frame's ``hop`` samples
   at once, so the worst case is one hop (11.6 ms). Checked on the model: ``hop - 1``
   samples give no frame, the ``hop``-th gives one, and decoding it gives ``hop``
   samples.
2. Per-frame compute on ONE thread (``torch.set_num_threads(1)``): ``encode_step`` of a
   hop of audio and ``decode_step`` of the frame it gives, timed separately, median
   and 99th percentile over ``--frames`` frames after a warm-up. Real time needs
   encode + decode below the frame's duration.
3. Whole-stream speed on TWO threads: ``--seconds`` of audio streamed hop by hop,
   encoder and decoder pipelined on two Python threads (one torch thread each, a
   queue between them); reported as seconds of audio per second of wall time. The
   same stream on one thread, and on one Python thread with two torch threads, for
   comparison.

Every time is taken twice: wall-clock (``perf_counter``) and the CPU time of the thread
that did the work (``thread_time``). On an idle machine the two agree; on a shared one
the wall clock also counts the time other processes held the core, and the CPU time is
the better estimate of what a dedicated core would take (still inflated by shared caches
and clocks). The load average is printed beside the numbers.

Run (about 3 minutes)::

    python benchmarks/streaming_latency.py
    python benchmarks/streaming_latency.py --widths 16/96 --frames 500 --seconds 20
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import threading
import time

import torch

from rvqgan.model import Codec, CodecConfig
from rvqgan.streaming import StreamingSession


def build(encoder_dim: int, decoder_dim: int) -> Codec:
    torch.manual_seed(0)
    return Codec(CodecConfig(encoder_dim=encoder_dim, decoder_dim=decoder_dim, causal=True)).eval()


def algorithmic_latency_ms(model: Codec) -> float:
    """One hop, checked: the frame appears with the hop's last sample and decodes at once."""
    hop = model.hop_length
    session = StreamingSession(model)
    audio = 0.1 * torch.randn(1, 1, hop)
    assert session.encode_step(audio[..., : hop - 1]).shape[-1] == 0
    codes = session.encode_step(audio[..., hop - 1 :])
    assert codes.shape[-1] == 1 and session.decode_step(codes).shape[-1] == hop
    return 1000 * hop / model.sample_rate


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _now() -> tuple[float, float]:
    return time.perf_counter(), time.thread_time()


def per_frame_ms(model: Codec, frames: int, warmup: int = 20) -> dict[str, float]:
    """Median and p99 of encode, decode and their sum per hop-sized chunk, one thread (wall and CPU)."""
    torch.set_num_threads(1)
    session = StreamingSession(model)
    gen = torch.Generator().manual_seed(1)
    chunks = [0.1 * torch.randn(1, 1, model.hop_length, generator=gen) for _ in range(8)]
    times: dict[str, list[float]] = {}
    for i in range(warmup + frames):
        t0 = _now()
        codes = session.encode_step(chunks[i % len(chunks)])
        t1 = _now()
        session.decode_step(codes)
        t2 = _now()
        if i < warmup:
            continue
        for clock in (0, 1):
            kind = ("wall", "cpu")[clock]
            times.setdefault(f"encode_{kind}", []).append(t1[clock] - t0[clock])
            times.setdefault(f"decode_{kind}", []).append(t2[clock] - t1[clock])
            times.setdefault(f"total_{kind}", []).append(t2[clock] - t0[clock])
    result = {}
    for name, values in times.items():
        result[f"{name}_median_ms"] = 1000 * statistics.median(values)
        result[f"{name}_p99_ms"] = 1000 * percentile(values, 0.99)
    return result


def _hops(model: Codec, seconds: float) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(2)
    n = round(seconds * model.sample_rate / model.hop_length)
    return [0.1 * torch.randn(1, 1, model.hop_length, generator=gen) for _ in range(n)]


def stream_serial(model: Codec, hops: list[torch.Tensor], torch_threads: int) -> tuple[float, float]:
    """(wall, CPU) seconds to stream ``hops`` through encode then decode on one Python thread.

    With two torch threads the CPU time of this thread misses the helper's; only the wall
    time is meaningful then.
    """
    torch.set_num_threads(torch_threads)
    session = StreamingSession(model)
    start = _now()
    for chunk in hops:
        session.decode_step(session.encode_step(chunk))
    end = _now()
    return end[0] - start[0], end[1] - start[1]


def stream_pipelined(model: Codec, hops: list[torch.Tensor]) -> tuple[float, float]:
    """(wall, busiest thread's CPU) seconds with encoder and decoder on two threads, a queue between.

    With a core each, the pipeline takes as long as its busier thread: the second number
    is the wall time an idle two-core machine would show.
    """
    torch.set_num_threads(1)
    encoder, decoder = StreamingSession(model), StreamingSession(model)
    frames: queue.Queue[torch.Tensor | None] = queue.Queue(maxsize=64)
    decoder_cpu = [0.0]

    def decode() -> None:
        begin = time.thread_time()
        while (codes := frames.get()) is not None:
            decoder.decode_step(codes)
        decoder_cpu[0] = time.thread_time() - begin

    worker = threading.Thread(target=decode)
    start = _now()
    worker.start()
    for chunk in hops:
        frames.put(encoder.encode_step(chunk))
    frames.put(None)
    encoder_cpu = time.thread_time() - start[1]
    worker.join()
    return time.perf_counter() - start[0], max(encoder_cpu, decoder_cpu[0])


def whole_stream(model: Codec, seconds: float) -> dict[str, float]:
    hops = _hops(model, seconds)
    audio = len(hops) * model.hop_length / model.sample_rate
    stream_serial(model, hops[:20], 1)  # warm-up
    one = stream_serial(model, hops, 1)
    two = stream_pipelined(model, hops)
    return {
        "x_realtime_1_thread_wall": audio / one[0],
        "x_realtime_1_thread_cpu": audio / one[1],
        "x_realtime_2_threads_wall": audio / two[0],
        "x_realtime_2_threads_cpu": audio / two[1],
        "x_realtime_2_torch_threads_wall": audio / stream_serial(model, hops, 2)[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", nargs="+", default=["16/96", "32/384", "64/1536"], help="ENCODER/DECODER dims")
    parser.add_argument("--frames", type=int, default=300, help="frames timed per width (paper width: a third)")
    parser.add_argument("--seconds", type=float, default=10.0, help="audio streamed for the whole-stream speed")
    parser.add_argument("--json", action="store_true", help="print JSON rows instead of a table")
    args = parser.parse_args()
    rows = []
    for width in args.widths:
        encoder_dim, decoder_dim = (int(v) for v in width.split("/"))
        model = build(encoder_dim, decoder_dim)
        heavy = decoder_dim > 512
        row = {
            "width": width,
            "parameters_M": sum(p.numel() for p in model.parameters()) / 1e6,
            "frame_ms": 1000 * model.hop_length / model.sample_rate,
            "latency_ms": algorithmic_latency_ms(model),
            **per_frame_ms(model, max(20, args.frames // 3) if heavy else args.frames),
            **whole_stream(model, args.seconds / 3 if heavy else args.seconds),
            "load_average": os.getloadavg()[0],
        }
        rows.append(row)
        if args.json:
            print(json.dumps(row))
    if args.json:
        return
    print(
        f"torch {torch.__version__}, {os.cpu_count()} CPUs; frame = hop 512 at 44.1 kHz = {rows[0]['frame_ms']:.1f} ms"
    )
    print("Per-frame compute, one thread, ms (median / p99); CPU time, then wall clock:")
    print("| enc/dec width | params | latency | encode | decode | encode + decode | wall: encode + decode | load |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        cells = [
            f"{r[f'{n}_median_ms']:.2f} / {r[f'{n}_p99_ms']:.2f}" for n in ("encode_cpu", "decode_cpu", "total_cpu")
        ]
        print(
            f"| {r['width']} | {r['parameters_M']:.1f} M | {r['latency_ms']:.1f} ms | {' | '.join(cells)} "
            f"| {r['total_wall_median_ms']:.2f} / {r['total_wall_p99_ms']:.2f} | {r['load_average']:.1f} |"
        )
    print()
    print("Whole stream, x real time (CPU-time estimate / wall clock):")
    print("| enc/dec width | 1 thread | 2 threads (encoder and decoder pipelined) | 1 thread, 2 torch threads (wall) |")
    print("| --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['width']} | {r['x_realtime_1_thread_cpu']:.2f} / {r['x_realtime_1_thread_wall']:.2f} "
            f"| {r['x_realtime_2_threads_cpu']:.2f} / {r['x_realtime_2_threads_wall']:.2f} "
            f"| {r['x_realtime_2_torch_threads_wall']:.2f} |"
        )


if __name__ == "__main__":
    main()
