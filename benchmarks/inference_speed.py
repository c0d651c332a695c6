"""Inference speed of rvqgan against transformers' DacModel carrying the same weights.

Both models run in one process, interleaved (DacModel encode, rvqgan encode, DacModel
decode, rvqgan decode, repeated), at the same thread count, so that a noisy machine
slows both alike; each repeat gives a ratio and the table shows medians. Every run also
checks equivalence: codes compared with DacModel's, decoded audio's largest error
relative to DacModel's peak. The floor: the convolutions' operations per second of
audio (counted from the layer shapes) against this machine's sustained rate on a large
matrix product and on a convolution of the model's typical shape, measured in the same
process.

    python benchmarks/inference_speed.py speed --model full --seconds 5 --repeats 3 --threads 1
    python benchmarks/inference_speed.py speed --model full --seconds 2 --variants   # each optimization
    python benchmarks/inference_speed.py speed --model default --seconds 5 --threads 2
    python benchmarks/inference_speed.py memory                                       # fresh processes
    python benchmarks/inference_speed.py tiles --seconds 2                            # tile-size sweep
    python benchmarks/inference_speed.py compile --seconds 2                          # torch.compile
    python benchmarks/inference_speed.py layers --seconds 1 --threads 1               # Winograd per unit
    python benchmarks/inference_speed.py speed --model full --fastconv-compare        # with/without it
    python benchmarks/inference_speed.py speed --device cuda --dtype fp32 bf16 --batch 1 16

Results are written down in docs/speed.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

from speed_models import codec_flops, default_pair, full_pair, test_signal

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn: Callable[[], object], device: torch.device) -> tuple[float, object]:
    """Wall time of one call (synchronized on CUDA) and its result."""
    _sync(device)
    start = time.perf_counter()
    result = fn()
    _sync(device)
    return time.perf_counter() - start, result


def sustained_rates(threads: int, repeats: int = 5) -> dict[str, float]:
    """FLOP/s of a 2048^3 matrix product and of a k7 dilated conv1d (192 ch, 1 s at 22 kHz)."""
    torch.set_num_threads(threads)
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    x, w = torch.randn(1, 192, 22050), torch.randn(192, 192, 7)
    cases = {
        "matmul_2048": (lambda: a @ b, 2 * 2048**3),
        "conv1d_192ch_k7_d3": (lambda: F.conv1d(x, w, padding=9, dilation=3), 2 * 192 * 192 * 7 * 22050),
    }
    rates = {}
    with torch.no_grad():
        for name, (fn, flops) in cases.items():
            fn()
            times = sorted(timed(fn, torch.device("cpu"))[0] for _ in range(repeats))
            rates[name] = flops / times[len(times) // 2]
    return rates


def _models(args: argparse.Namespace):
    if args.model == "full":
        codec, dac_model = full_pair()
        return codec, dac_model, "44.1 kHz paper model (DacConfig(sampling_rate=44100)), random weights"
    return default_pair(args.weights)


def _variants(codec, unfolded, args) -> dict[str, tuple[object, bool, bool]]:
    """Name -> (model, tiled path on, Winograd k7 on), the final configuration last.

    ``unfolded`` (or None) is the same model with weight norm kept, the repository's
    original inference path: (g, v) turned into w on every call, channel-major layers.
    ``--fastconv-compare`` adds the tiled path with direct k7 products (the path before
    rvqgan.nn.fastconv); ``--no-fastconv`` switches Winograd off in the final one.
    """
    variants = {}
    if unfolded is not None:
        variants["reference, weight norm"] = (unfolded, False, False)
        variants["reference, folded"] = (codec, False, False)
    if args.fastconv_compare:
        variants["rvqgan, direct k7"] = (codec, True, False)
    variants["rvqgan"] = (codec, True, not args.no_fastconv)
    return variants


def _set_tiled(model, on: bool, fast: bool | None = None) -> None:
    model.encoder.tiled_inference = model.decoder.tiled_inference = on
    if fast is not None:
        from rvqgan.nn import tiled

        tiled.FAST_CONV = fast


def run_speed(args: argparse.Namespace) -> dict:
    device = torch.device(args.device)
    codec, dac_model, what = _models(args)
    unfolded = None
    if args.variants:
        from rvqgan.checkpoint import from_hf

        unfolded = from_hf(dac_model)  # weight norm kept: (g, v) computed into w on every call
    flops = codec_flops(codec.config)
    results = {"model": what, "config": dataclasses.asdict(codec.config), "flops": flops.__dict__, "runs": []}
    dtypes = args.dtype if device.type == "cuda" else ["fp32"]
    for threads in args.threads:
        torch.set_num_threads(threads)
        rates = sustained_rates(threads) if device.type == "cpu" else {}
        for dtype_name in dtypes:
            for batch in args.batch:
                run = _compare(codec, unfolded, dac_model, args, device, DTYPES[dtype_name], batch, threads)
                run.update(threads=threads, dtype=dtype_name, batch=batch, rates=rates)
                results["runs"].append(run)
                _print_run(run, flops, args.seconds)
    return results


def _compare(codec, unfolded, dac_model, args, device, dtype, batch, threads) -> dict:
    x = test_signal(args.seconds, codec.sample_rate, codec.hop_length).repeat(batch, 1, 1).to(device, dtype)
    codec, dac_model = codec.to(device, dtype), dac_model.to(device, dtype)
    variants = _variants(codec, None if unfolded is None else unfolded.to(device, dtype), args)
    times: dict[str, dict[str, list[float]]] = {name: {"encode": [], "decode": []} for name in ["dac", *variants]}
    checks = []
    with torch.no_grad():
        warm = x[..., : 8 * codec.hop_length]
        dac_model.decode(audio_codes=dac_model.encode(warm).audio_codes)
        codec.decode(codec.encode(warm))
        for _ in range(args.repeats):
            t, ref_codes = timed(lambda: dac_model.encode(x).audio_codes, device)
            times["dac"]["encode"].append(t)
            t, ref_audio = timed(lambda c=ref_codes: dac_model.decode(audio_codes=c).audio_values, device)
            times["dac"]["decode"].append(t)
            for name, (model, tiled_on, fast) in variants.items():
                _set_tiled(model, tiled_on, fast)
                t, codes = timed(lambda m=model: m.encode(x), device)
                times[name]["encode"].append(t)
                t, audio = timed(lambda m=model, c=ref_codes: m.decode(c), device)
                times[name]["decode"].append(t)
                if name.startswith("rvqgan"):
                    error = (audio[:, 0].float() - ref_audio.float()).abs().max() / ref_audio.float().abs().max()
                    checks.append({"variant": name, "codes_differing": int((codes != ref_codes).sum()), "codes": codes.numel(),
                                   "relative_error": float(error)})
    return {"times": times, "checks": checks}


def _print_run(run: dict, flops, seconds: float) -> None:
    audio = seconds * run["batch"]
    dac = run["times"]["dac"]
    print(f"\nthreads={run['threads']} dtype={run['dtype']} batch={run['batch']} audio={audio:g} s")
    if run["rates"]:
        print("sustained: " + ", ".join(f"{k} {v / 1e9:.1f} GFLOP/s" for k, v in run["rates"].items()))
    print(f"{'variant':<24}{'op':<8}{'median s':>9}{'x realtime':>11}{'vs DacModel (per run)':>34}{'GFLOP/s':>9}")
    for name, ops in run["times"].items():
        for op, ts in ops.items():
            med = statistics.median(ts)
            ratios = [d / t for d, t in zip(dac[op], ts, strict=True)]
            per_run = " ".join(f"{r:.2f}" for r in ratios)
            rate = getattr(flops, op) * audio / med / 1e9
            print(f"{name:<24}{op:<8}{med:>9.2f}{audio / med:>11.3f}{statistics.median(ratios):>8.2f}x ({per_run}){rate:>9.1f}")
    for check in run["checks"]:
        print(f"check {check['variant']}: {check['codes_differing']}/{check['codes']} codes differ, decode rel. error {check['relative_error']:.1e}")


def run_tiles(args: argparse.Namespace) -> dict:
    """Encode/decode time of the full model for several tile sizes (interleaved)."""
    from rvqgan.nn import tiled

    codec, _, what = _models(args)
    torch.set_num_threads(args.threads[0])
    x = test_signal(args.seconds, codec.sample_rate, codec.hop_length)
    sizes = [1 << p for p in args.tile_powers]
    times = {s: {"encode": [], "decode": []} for s in sizes}
    with torch.no_grad():
        codes = codec.encode(x)
        for _ in range(args.repeats):
            for size in sizes:
                tiled.TILE_ELEMENTS = tiled.PARALLEL_TILE_ELEMENTS = size
                times[size]["encode"].append(timed(lambda: codec.encode(x), torch.device("cpu"))[0])
                times[size]["decode"].append(timed(lambda: codec.decode(codes), torch.device("cpu"))[0])
    print(f"{what}, {args.seconds:g} s, threads={args.threads[0]}")
    for size, ops in times.items():
        print(f"tile {size:>8} floats: encode {statistics.median(ops['encode']):.2f} s, decode {statistics.median(ops['decode']):.2f} s")
    return {"model": what, "times": {str(k): v for k, v in times.items()}}


def run_layers(args: argparse.Namespace) -> dict:
    """Each residual unit of the model, direct k7 products against Winograd (rvqgan.nn.fastconv).

    One unit per (block, dilation), at the length it sees for ``--seconds`` of audio, on the
    previous layers' real output (the model's own encoder/decoder run once, reference path).
    Error: largest difference of the unit's output from a float64 run of the same unit,
    relative to the largest value of its residual branch.
    """
    from rvqgan.nn import ResidualUnit, tiled

    codec, _, what = _models(args)
    torch.set_num_threads(args.threads[0])
    x = test_signal(args.seconds, codec.sample_rate, codec.hop_length)
    inputs: dict[str, torch.Tensor] = {}
    hooks = [
        module.register_forward_pre_hook(lambda mod, inp, name=name: inputs.__setitem__(name, inp[0][0].t().contiguous()))
        for name, module in codec.named_modules()
        if isinstance(module, ResidualUnit)
    ]
    _set_tiled(codec, False)
    with torch.no_grad():
        codec.decode(codec.encode(x))
    for hook in hooks:
        hook.remove()
    _set_tiled(codec, True)
    rows = []
    print(f"{what}, {args.seconds:g} s, threads={args.threads[0]}")
    print(f"{'unit':<28}{'C':>5}{'d':>3}{'T':>8}{'direct ms':>11}{'fast ms':>9}{'speedup (per run)':>26}"
          f"{'err direct':>12}{'err fast':>10}")
    with torch.no_grad():
        for name, xin in inputs.items():
            unit = codec.get_submodule(name)
            times = {"direct": [], "fast": []}
            outs = {}
            for _ in range(args.repeats):
                for mode in ("direct", "fast"):
                    t, outs[mode] = timed(lambda u=unit, a=xin, f=mode == "fast": tiled.residual_unit(a, u, fast=f),
                                          torch.device("cpu"))
                    times[mode].append(t)
            unit64 = _double_copy(unit)
            truth = unit64(xin.double().t()[None])[0].t()
            scale = (truth - xin.double()).abs().max()
            errors = {k: float((v.double() - truth).abs().max() / scale) for k, v in outs.items()}
            ratios = [d / f for d, f in zip(times["direct"], times["fast"], strict=True)]
            row = {"unit": name, "channels": xin.shape[1], "dilation": unit.conv1.dilation, "length": xin.shape[0],
                   "times": times, "errors": errors}
            rows.append(row)
            print(f"{name:<28}{xin.shape[1]:>5}{unit.conv1.dilation:>3}{xin.shape[0]:>8}"
                  f"{statistics.median(times['direct']) * 1e3:>11.1f}{statistics.median(times['fast']) * 1e3:>9.1f}"
                  f"{statistics.median(ratios):>8.2f}x ({' '.join(f'{r:.2f}' for r in ratios)})"
                  f"{errors['direct']:>12.1e}{errors['fast']:>10.1e}", flush=True)
    for side in ("encoder", "decoder"):
        sel = [r for r in rows if r["unit"].startswith(side)]
        direct = sum(statistics.median(r["times"]["direct"]) for r in sel)
        fast = sum(statistics.median(r["times"]["fast"]) for r in sel)
        print(f"{side} residual units: direct {direct:.2f} s, fast {fast:.2f} s, {direct / fast:.2f}x")
    return {"model": what, "units": rows}


def _double_copy(unit):
    import copy

    return copy.deepcopy(unit).double()


def run_compile(args: argparse.Namespace) -> dict:
    """torch.compile of the reference path against the tiled path and DacModel."""
    codec, dac_model, what = _models(args)
    torch.set_num_threads(args.threads[0])
    x = test_signal(args.seconds, codec.sample_rate, codec.hop_length)
    cpu = torch.device("cpu")
    with torch.no_grad():
        codes = dac_model.encode(x).audio_codes
        encoder = torch.compile(codec.encoder)
        decoder = torch.compile(codec.decoder)
        _set_tiled(codec, False)
        z = codec.quantizer.decode(codes)
        compile_enc, _ = timed(lambda: encoder(x), cpu)
        compile_dec, _ = timed(lambda: decoder(z), cpu)
        times = {k: [] for k in ("dac_enc", "compiled_enc", "tiled_enc", "dac_dec", "compiled_dec", "tiled_dec")}
        for _ in range(args.repeats):
            times["dac_enc"].append(timed(lambda: dac_model.encoder(x), cpu)[0])
            _set_tiled(codec, False)
            times["compiled_enc"].append(timed(lambda: encoder(x), cpu)[0])
            times["dac_dec"].append(timed(lambda: dac_model.decoder(z), cpu)[0])
            times["compiled_dec"].append(timed(lambda: decoder(z), cpu)[0])
            _set_tiled(codec, True)
            times["tiled_enc"].append(timed(lambda: codec.encoder(x), cpu)[0])
            times["tiled_dec"].append(timed(lambda: codec.decoder(z), cpu)[0])
    print(f"{what}, {args.seconds:g} s, threads={args.threads[0]}; first call (compilation) "
          f"encoder {compile_enc:.1f} s, decoder {compile_dec:.1f} s")
    for name, ts in times.items():
        print(f"{name:<14}{statistics.median(ts):.2f} s  ({' '.join(f'{t:.2f}' for t in ts)})")
    return {"model": what, "compile_s": [compile_enc, compile_dec], "times": times}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["speed", "tiles", "compile", "memory", "layers"])
    parser.add_argument("--model", choices=["full", "default"], default="full")
    parser.add_argument("--weights", help="checkpoint for --model default (default: bundled, else random)")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[1])
    parser.add_argument("--variants", action="store_true", help="also time the reference paths")
    parser.add_argument("--fastconv-compare", action="store_true",
                        help="also time the tiled path with direct k7 products (before rvqgan.nn.fastconv)")
    parser.add_argument("--no-fastconv", action="store_true", help="tiled path without the Winograd k7 layers")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", nargs="+", choices=sorted(DTYPES), default=["fp32"])
    parser.add_argument("--batch", type=int, nargs="+", default=[1])
    parser.add_argument("--tile-powers", type=int, nargs="+", default=[15, 16, 17, 18, 19, 20])
    parser.add_argument("--json", help="write the results here")
    if sys.argv[1:2] == ["memory"]:  # its own options (speed_memory.py)
        from speed_memory import main as memory_main

        return memory_main(sys.argv[2:])
    args = parser.parse_args()
    result = {"speed": run_speed, "tiles": run_tiles, "compile": run_compile, "layers": run_layers}[args.command](args)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
