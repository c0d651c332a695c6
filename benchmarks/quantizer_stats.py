"""How well each codebook of a trained model fits what the encoder gives it.

For every codebook of the residual stack, on real test clips, this script measures in the
codebook's look-up space (``codebook_dim``, 8 in the paper):

- ``snr``: 10 log10 of the projected latent's power over the quantization error's,
  ``|z_e|^2 / |z_e - z_q|^2``, in dB. The training's codebook loss is this error (a mean
  over elements, summed over codebooks);
- ``cos``: the mean cosine between ``z_e`` and its code, which is all the look-up matches;
- ``norm``: the code's power over the latent's, ``|z_q|^2 / |z_e|^2``. The look-up ignores
  norms, so the code vector's norm is only the average of what it is assigned;
- ``scale``: the share of the error left after each frame's code is rescaled to the
  latent's best fit. One minus it is the share due to the norm mismatch alone;
- ``residual``: the power of the residual, in the latent space, that enters this codebook
  (the first one gets the encoder's output). A working residual stack shrinks it;
- ``perplexity``: exp of the entropy of the codes chosen, out of ``codebook_size``.

Means are over frames of all clips together. Used in docs/recipe.md ("What was not
measured") to read why the codebook and commitment losses are large.

Run::

    python benchmarks/quantizer_stats.py --manifest data/testset/manifest.jsonl \\
        --per-domain 2 --seconds 4 --model src/rvqgan/models/default.safetensors
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch
import torch.nn.functional as F

from rvqgan.api import load_model
from rvqgan.eval.testset import load_testset, read_clip
from rvqgan.eval.usage import entropy_bits

COLUMNS = ("snr", "cos", "norm", "scale", "residual", "perplexity")


@torch.no_grad()
def codebook_stats(model, clips: list, seconds: float | None) -> list[dict[str, float]]:
    """One dict of ``COLUMNS`` per codebook, over the frames of ``clips``."""
    sums = [
        dict.fromkeys(("e", "q", "err", "err_scaled", "cos", "res", "frames"), 0.0) for _ in model.quantizer.quantizers
    ]
    counts = [torch.zeros(model.codebook_size, dtype=torch.float64) for _ in model.quantizer.quantizers]
    for clip in clips:
        audio = torch.from_numpy(read_clip(clip, model.sample_rate, seconds)).float().reshape(1, 1, -1)
        residual = model.encoder(model.pad_to_hop(audio))
        for acc, count, vq in zip(sums, counts, model.quantizer.quantizers):
            z_e = vq.project(residual)
            codes = vq.lookup(z_e)
            z_q = vq.embed(codes)
            fit = (z_e * z_q).sum(1, keepdim=True) / z_q.pow(2).sum(1, keepdim=True).clamp_min(1e-12)
            frames = z_e.shape[-1]
            acc["e"] += z_e.pow(2).sum().item()
            acc["q"] += z_q.pow(2).sum().item()
            acc["err"] += (z_e - z_q).pow(2).sum().item()
            acc["err_scaled"] += (z_e - fit * z_q).pow(2).sum().item()
            acc["cos"] += F.cosine_similarity(z_e, z_q, dim=1).sum().item()
            acc["res"] += residual.pow(2).mean(1).sum().item()
            acc["frames"] += frames
            count += torch.bincount(codes.flatten(), minlength=model.codebook_size).double()
            residual = residual - vq.out_proj(z_q)
    rows = []
    for acc, count in zip(sums, counts):
        rows.append(
            {
                "snr": 10 * math.log10(acc["e"] / acc["err"]),
                "cos": acc["cos"] / acc["frames"],
                "norm": acc["q"] / acc["e"],
                "scale": acc["err_scaled"] / acc["err"],
                "residual": acc["res"] / acc["frames"],
                "perplexity": float(2 ** entropy_bits(count.numpy())),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", required=True, help="test-set manifest (JSON lines)")
    parser.add_argument("--model", action="append", required=True, help="model name or .safetensors (repeatable)")
    parser.add_argument("--per-domain", type=int, default=2, help="clips per domain, spread evenly")
    parser.add_argument("--seconds", type=float, default=4.0, help="keep only each clip's first seconds")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    clips = load_testset(args.manifest, limit=args.per_domain)
    for name in args.model:
        model = load_model(name).float().eval()
        rows = codebook_stats(model, clips, args.seconds)
        print(f"\n{Path(name).name}: {len(clips)} clips, first {args.seconds:g} s each")
        print(
            "| codebook | SNR (dB) | cos | code/latent power | error left after rescale | residual power in | perplexity |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for k, row in enumerate(rows):
            print(
                f"| {k + 1} | {row['snr']:.1f} | {row['cos']:.3f} | {row['norm']:.2f} | {row['scale']:.2f} | "
                f"{row['residual']:.2f} | {row['perplexity']:.0f} |"
            )


if __name__ == "__main__":
    main()
