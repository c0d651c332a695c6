"""A stand-in codec for entropy-coding figures before a trained codec exists.

A codec with random weights codes real audio with a handful of codes per codebook
(about 1 bit of entropy out of 10): static tables would "save" 90% and say nothing
about a trained codec, whose codebooks are used nearly uniformly (the paper reports
~99% bitrate efficiency). This script keeps the random encoder and decoder of the
default recipe's layout but fits each codebook, in residual order, by spherical
k-means on the projected residuals of real corpus audio, so that codes are spread over
all entries like a trained codec's while still following the audio's structure. The
figures it gives are indicative only; rerun ``benchmarks/entropy_coding.py`` on the
trained default model for the real ones.

Run::

    python benchmarks/entropy_proxy_codec.py --manifest data/corpus/manifest.jsonl \\
        --out /tmp/entropy_bench/proxy.safetensors
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import torch
import torch.nn.functional as F

from rvqgan.audio import read_audio
from rvqgan.checkpoint import save_model
from rvqgan.model import Codec, preset


def corpus_latents(codec: Codec, manifest: Path, items: int, seconds: float) -> torch.Tensor:
    """Encoder outputs ``[D, frames]`` of ``items`` corpus files spread over the manifest."""
    lines = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
    picked = [lines[i * len(lines) // items] for i in range(min(items, len(lines)))]
    latents = []
    for entry in picked:
        audio, _ = read_audio(manifest.parent / entry["path"], codec.sample_rate)
        mono = torch.from_numpy(audio.mean(axis=0, keepdims=True)[:, : int(seconds * codec.sample_rate)])
        with torch.no_grad():
            latents.append(codec.encoder(mono[None])[0])
    return torch.cat(latents, dim=1)


def spherical_kmeans(x: torch.Tensor, k: int, iterations: int, generator: torch.Generator) -> torch.Tensor:
    """Centres ``[k, d]`` (unit norm) of unit vectors ``x [n, d]``."""
    centres = x[torch.randperm(x.shape[0], generator=generator)[:k]].clone()
    for _ in range(iterations):
        assign = (x @ centres.T).argmax(dim=1)
        sums = torch.zeros_like(centres).index_add_(0, assign, x)
        empty = sums.norm(dim=1) == 0
        sums[empty] = x[torch.randint(0, x.shape[0], (int(empty.sum()),), generator=generator)]
        centres = F.normalize(sums, dim=1)
    return centres


def fit_codebooks(codec: Codec, z: torch.Tensor, iterations: int) -> None:
    """Set each codebook, in residual order, to k-means centres of its projected residuals."""
    generator = torch.Generator().manual_seed(0)
    residual = z[None]
    with torch.no_grad():
        for vq in codec.quantizer.quantizers:
            z_e = vq.project(residual)[0].T  # [n, d]
            unit = F.normalize(z_e, dim=1)
            centres = spherical_kmeans(unit, vq.codebook_size, iterations, generator)
            assign = (unit @ centres.T).argmax(dim=1)
            # Code vectors: the mean projected residual of their cluster (scale matters for decoding).
            means = torch.zeros_like(centres).index_add_(0, assign, z_e)
            counts = torch.bincount(assign, minlength=vq.codebook_size).clamp(min=1)[:, None]
            vq.codebook.weight.copy_(torch.where(counts > 1, means / counts, centres * z_e.norm(dim=1).mean()))
            residual = residual - vq.decode(vq.lookup(vq.project(residual)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--manifest", type=Path, default=Path("data/corpus/manifest.jsonl"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--iterations", type=int, default=15)
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    codec = Codec(dataclasses.replace(preset("dac_44khz"), encoder_dim=16, decoder_dim=96)).eval()
    z = corpus_latents(codec, args.manifest, args.items, args.seconds)
    fit_codebooks(codec, z, args.iterations)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    digest = save_model(
        codec,
        args.out,
        name="kmeans-proxy",
        overwrite=True,
        card={
            "what": "random encoder/decoder, k-means codebooks: an entropy-coding stand-in",
            "frames": int(z.shape[1]),
        },
    )
    print(f"{args.out} {digest[:16]} ({z.shape[1]} frames)")


if __name__ == "__main__":
    main()
