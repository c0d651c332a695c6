"""Peak memory of encode + decode against input length, each case in a fresh process.

Run through ``python benchmarks/inference_speed.py memory [options]``. For every
(implementation, length) a new Python process builds the model and a test signal,
resets its peak resident size (``/proc/self/clear_refs``) and notes its resident size
as the baseline, encodes, decodes, and reports the peak (``VmHWM``): ``peak - baseline``
is what coding cost beyond the model and the input. The output buffer (the decoded audio, 4 bytes a sample, plus the codes) is listed
beside it, since that much must grow with the length.

Implementations: ``rvqgan`` (``encode_long`` / ``decode_long``: chunked, tiled path, the
path of the API and CLI), ``rvqgan-whole`` (one ``Codec.encode`` / ``decode`` call on
the whole signal) and ``dac`` (transformers' DacModel, one call each way). DacModel
cases whose memory, extrapolated linearly from the longest one measured, would pass
``--max-dac-gib`` are skipped and reported as such.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

GIB = 1024**3


def _status(field: str) -> int:
    """A memory figure of this process from /proc/self/status, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> None:
    """Set the peak resident size (VmHWM) to the current one (Linux >= 4.0), so that the
    peaks of building the model and the signal do not hide the peak of coding."""
    Path("/proc/self/clear_refs").write_text("5")


def _peak() -> int:
    return max(_status("VmHWM"), 0)


def _child(impl: str, model_name: str, seconds: float, threads: int) -> dict:
    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from speed_models import test_signal

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    codec = dac_model = None
    if model_name == "full" and impl == "dac":
        from transformers import DacConfig, DacModel

        dac_model = DacModel(DacConfig(sampling_rate=44100)).eval()
        rate, hop = 44100, 512
    else:
        from rvqgan.model import Codec, preset
        from rvqgan.nn import fold_weight_norm

        if model_name == "full":
            codec = Codec(preset("dac_44khz"))
        else:
            from speed_models import DEFAULT_RECIPE

            from rvqgan.train import load_config

            codec = Codec(load_config(DEFAULT_RECIPE).model)
        codec = fold_weight_norm(codec.eval())
        rate, hop = codec.sample_rate, codec.hop_length
        if impl == "dac":
            from rvqgan.checkpoint import to_hf

            dac_model, codec = to_hf(codec), None
    x = test_signal(seconds, rate, hop)
    _reset_peak()
    baseline = _status("VmRSS")
    start = time.perf_counter()
    with torch.no_grad():
        if impl == "dac":
            codes = dac_model.encode(x).audio_codes
            audio = dac_model.decode(audio_codes=codes).audio_values
        elif impl == "rvqgan":
            from rvqgan.inference import decode_long, encode_long

            codes = encode_long(codec, x[0])
            audio = decode_long(codec, codes, x.shape[-1])
        else:
            codes = codec.encode(x)
            audio = codec.decode(codes)
    output = audio.numel() * audio.element_size() + codes.numel() * codes.element_size()
    return {"baseline": baseline, "peak": _peak(), "output": output, "wall": time.perf_counter() - start}


def _run(impl: str, model: str, seconds: float, threads: int) -> dict:
    command = [sys.executable, __file__, "--child", impl, model, str(seconds), str(threads)]
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="inference_speed.py memory")
    parser.add_argument("--model", choices=["full", "default"], default="default")
    parser.add_argument("--seconds", type=float, nargs="+", default=[1, 10, 60, 600])
    parser.add_argument("--impl", nargs="+", choices=["rvqgan", "rvqgan-whole", "dac"], default=["rvqgan", "dac"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-dac-gib", type=float, default=6.0)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    rows = []
    print(f"model={args.model} threads={args.threads}")
    print(f"{'impl':<13}{'audio s':>8}{'baseline MiB':>14}{'peak MiB':>10}{'peak-base MiB':>15}{'output MiB':>12}{'wall s':>8}")
    for impl in args.impl:
        growth = None  # bytes per second of audio, from the longest case measured
        for seconds in sorted(args.seconds):
            if impl != "rvqgan" and growth is not None and growth * seconds > args.max_dac_gib * GIB:
                print(f"{impl:<13}{seconds:>8g}  skipped: ~{growth * seconds / GIB:.1f} GiB extrapolated")
                rows.append({"impl": impl, "seconds": seconds, "skipped_gib": growth * seconds / GIB})
                continue
            result = _run(impl, args.model, seconds, args.threads) | {"impl": impl, "seconds": seconds}
            rows.append(result)
            if "error" in result:
                print(f"{impl:<13}{seconds:>8g}  failed: {result['error']}")
                continue
            extra = result["peak"] - result["baseline"]
            growth = max(extra, 1) / seconds
            mib = 1024**2
            print(f"{impl:<13}{seconds:>8g}{result['baseline'] / mib:>14.0f}{result['peak'] / mib:>10.0f}"
                  f"{extra / mib:>15.0f}{result['output'] / mib:>12.1f}{result['wall']:>8.1f}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(_child(sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]))))
    else:
        raise SystemExit(main(sys.argv[1:]))
