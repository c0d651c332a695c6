"""Peak memory of coding a long file in chunks: 1 vs 10 vs 60 minutes at 44.1 kHz.

For each length, three fresh processes run one after the other, so that each one's peak
resident set size (``ru_maxrss``) belongs to one phase alone:

1. ``generate``: write a mono 44.1 kHz FLAC of noise and gliding tones block by block;
2. ``encode``: ``iter_audio_blocks`` -> ``encode_stream`` -> codes appended to a raw
   int16 file on disk;
3. ``decode``: codes read back through a memory map -> ``decode_stream(length=T)`` ->
   ``Resampler`` to the file's rate -> ``AudioWriter`` FLAC, checked to hold exactly T
   samples.

The model is a random narrow codec (``encoder_dim=8, decoder_dim=32`` by default) so
that an hour runs in minutes on one CPU core; memory does not depend on the weights.

Why the bound holds for any width and any length: every stage holds a bounded window
of the signal, never the signal. The reader holds one block (``block_seconds`` of
samples) and soxr a fixed filter state; the encoder holds at most
``(left + chunk_frames + right) * hop`` samples plus one input block, and its
activations are ``width x window`` floats for the one call in flight; the decoder
likewise holds ``left + chunk_frames + right`` frames of codes and one chunk's
activations; codes go to disk as they come and are read back through a memory map;
the writer streams. So the peak is ``parameters + c * width * (chunk_frames + context)
* hop`` bytes, a function of the model width and the chunk size (which the caller can
lower for a wider model), and the file's length appears nowhere in it. The table shows
the same peak at 1, 10 and 60 minutes.

Run (about 10 minutes for all three lengths on one core)::

    python benchmarks/long_file_memory.py --minutes 1 10 60
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RATE = 44100
LIMIT_BYTES = 2 * 1024**3


def _peak_rss_bytes() -> int:
    """Peak resident set size of this process (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _generate(path: Path, minutes: float, block_seconds: float = 10.0) -> dict:
    from rvqgan.audio import AudioWriter

    total, block = round(minutes * 60 * RATE), round(block_seconds * RATE)
    rng = np.random.default_rng(0)
    with AudioWriter(path, RATE, 1, overwrite=True) as writer:
        for start in range(0, total, block):
            t = np.arange(start, min(total, start + block)) / RATE
            # Tones gliding over minutes, so chunks differ, plus noise at about -40 dBFS.
            tone = 0.2 * np.sin(2 * np.pi * (220 + 40 * np.sin(2 * np.pi * t / 97)) * t)
            tone += 0.1 * np.sin(2 * np.pi * 3520 * t) * (np.sin(2 * np.pi * t / 13) > 0)
            writer.write((tone + 0.01 * rng.standard_normal(t.size))[None].astype(np.float32))
    return {"samples": total}


def _model(encoder_dim: int, decoder_dim: int):
    import torch

    from rvqgan.model import Codec, preset

    torch.manual_seed(0)
    config = dataclasses.replace(preset("tiny_44khz"), encoder_dim=encoder_dim, decoder_dim=decoder_dim)
    return Codec(config).eval()


def _encode(audio: Path, codes_path: Path, args: argparse.Namespace) -> dict:
    import torch

    from rvqgan.audio import audio_info, iter_audio_blocks
    from rvqgan.inference import encode_stream, frames_for_length

    model = _model(args.encoder_dim, args.decoder_dim)
    baseline = _peak_rss_bytes()
    frames = 0
    with open(codes_path, "wb") as out:
        blocks = iter_audio_blocks(audio, model.sample_rate, block_seconds=10.0)
        for chunk in encode_stream(model, blocks, chunk_frames=args.chunk_frames):
            # [C, K, m] -> time-major int16 rows, appended as they come.
            out.write(chunk.permute(2, 0, 1).to(torch.int16).numpy().tobytes())
            frames += chunk.shape[-1]
    samples = audio_info(audio).frames
    assert frames == frames_for_length(model, samples), (frames, samples)
    return {"frames": frames, "samples": samples, "baseline": baseline}


def _decode(codes_path: Path, out: Path, samples: int, args: argparse.Namespace) -> dict:
    import torch

    from rvqgan.audio import AudioWriter, Resampler, audio_info
    from rvqgan.inference import decode_stream

    model = _model(args.encoder_dim, args.decoder_dim)
    baseline = _peak_rss_bytes()
    k = model.n_codebooks
    codes = np.memmap(codes_path, dtype=np.int16, mode="r").reshape(-1, 1, k)  # [frames, C, K]

    def chunks(step: int = 1024):
        for i in range(0, codes.shape[0], step):
            yield torch.from_numpy(np.ascontiguousarray(codes[i : i + step].transpose(1, 2, 0))).long()

    resampler = Resampler(model.sample_rate, RATE, 1, length=samples)
    with AudioWriter(out, RATE, 1, overwrite=True) as writer:
        for block in decode_stream(model, chunks(), length=samples, chunk_frames=args.chunk_frames):
            writer.write(resampler.process(block.numpy()))
        writer.write(resampler.flush())
    written = audio_info(out).frames
    assert written == samples, (written, samples)
    return {"samples": written, "baseline": baseline}


def _worker(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(args.threads)
    folder = Path(args.dir)
    audio, codes, decoded = folder / "long.flac", folder / "long.codes", folder / "decoded.flac"
    start = time.perf_counter()
    if args.worker == "generate":
        result = _generate(audio, args.minutes[0])
    elif args.worker == "encode":
        result = _encode(audio, codes, args)
    else:
        result = _decode(codes, decoded, args.samples, args)
    result.update(seconds=time.perf_counter() - start, peak=_peak_rss_bytes())
    print(json.dumps(result))


def _run_phase(phase: str, minutes: float, folder: Path, args: argparse.Namespace, samples: int = 0) -> dict:
    command = [sys.executable, __file__, "--worker", phase, "--dir", str(folder), "--minutes", str(minutes)]
    command += ["--samples", str(samples), "--threads", str(args.threads), "--chunk-frames", str(args.chunk_frames)]
    command += ["--encoder-dim", str(args.encoder_dim), "--decoder-dim", str(args.decoder_dim)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[1.0, 10.0, 60.0])
    parser.add_argument("--encoder-dim", type=int, default=8)
    parser.add_argument("--decoder-dim", type=int, default=32)
    parser.add_argument("--chunk-frames", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--worker", choices=["generate", "encode", "decode"], help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    parser.add_argument("--samples", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args)
        return 0

    mib = 1024**2
    print(f"model: tiny_44khz layout, encoder_dim={args.encoder_dim}, decoder_dim={args.decoder_dim}, ", end="")
    print(f"chunk_frames={args.chunk_frames}, threads={args.threads}")
    print(f"{'minutes':>7} {'phase':>8} {'peak RSS MiB':>13} {'after load MiB':>15} {'seconds':>8} {'x realtime':>10}")
    worst = 0
    for minutes in args.minutes:
        with tempfile.TemporaryDirectory(prefix="rvqgan-long-") as tmp:
            samples = 0
            for phase in ("generate", "encode", "decode"):
                result = _run_phase(phase, minutes, Path(tmp), args, samples)
                samples = result["samples"]
                worst = max(worst, result["peak"])
                print(
                    f"{minutes:>7g} {phase:>8} {result['peak'] / mib:>13.1f} "
                    f"{result.get('baseline', 0) / mib:>15.1f} {result['seconds']:>8.1f} "
                    f"{minutes * 60 / result['seconds']:>10.1f}",
                    flush=True,
                )
    assert worst < LIMIT_BYTES, f"peak RSS {worst / mib:.0f} MiB exceeds {LIMIT_BYTES / mib:.0f} MiB"
    print(f"worst peak RSS {worst / mib:.1f} MiB < {LIMIT_BYTES / mib:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
