"""Validation on held-out excerpts: the paper's distances and codebook usage."""

from __future__ import annotations

import math

import torch
from torch import nn

from rvqgan.losses import MelLoss, STFTLoss, si_sdr
from rvqgan.model import Codec


def codebook_usage(codes: torch.Tensor, codebook_size: int) -> dict[str, float]:
    """Per-codebook entropy and utilization of ``codes`` (B, K, frames).

    Returns:
        ``usage/entropy_k`` (bits), ``usage/utilization_k`` (share of codes used), and
        ``usage/efficiency``: summed entropy over the bits spent (the paper's bitrate
        efficiency, ~99 % for DAC).
    """
    out: dict[str, float] = {}
    total = 0.0
    n_codebooks = codes.shape[1]
    for k in range(n_codebooks):
        counts = torch.bincount(codes[:, k].reshape(-1).cpu(), minlength=codebook_size).double()
        p = counts[counts > 0] / counts.sum()
        entropy = float(-(p * p.log2()).sum())
        out[f"usage/entropy_{k}"] = entropy
        out[f"usage/utilization_{k}"] = float((counts > 0).double().mean())
        total += entropy
    out["usage/efficiency"] = total / (n_codebooks * math.log2(codebook_size))
    return out


class Validator:
    """Computes validation metrics of a generator on fixed excerpts.

    Args:
        audio: validation excerpts (N, 1, T).
        sample_rate: the model's rate.
        batch_size: excerpts per forward pass.
    """

    def __init__(self, audio: torch.Tensor, sample_rate: int, batch_size: int = 8) -> None:
        self.audio = audio
        self.batch_size = batch_size
        # The paper's metric definitions: mel as the loss, STFT at windows 2048 and 512.
        self.mel = MelLoss(sample_rate)
        self.stft = STFTLoss((2048, 512))

    @torch.no_grad()
    def __call__(self, model: Codec, device: torch.device) -> tuple[dict[str, float], torch.Tensor]:
        """Metrics (averaged over excerpts) and the reconstructions (N, 1, T) on the CPU."""
        if not len(self.audio):
            return {}, self.audio
        was_training = model.training
        model.eval()
        mel = self.mel.to(device)
        stft = self.stft.to(device)
        sums = {"valid/mel": 0.0, "valid/stft": 0.0, "valid/si_sdr": 0.0}
        outputs, codes = [], []
        for start in range(0, len(self.audio), self.batch_size):
            real = self.audio[start : start + self.batch_size].to(device)
            out = model(real)
            fake = out.audio.float()
            n = real.shape[0]
            sums["valid/mel"] += float(mel(fake, real)) * n
            sums["valid/stft"] += float(stft(fake, real)) * n
            sums["valid/si_sdr"] += float(si_sdr(fake, real).sum())
            outputs.append(fake.cpu())
            codes.append(out.codes.cpu())
        model.train(was_training)
        metrics = {k: v / len(self.audio) for k, v in sums.items()}
        metrics.update(codebook_usage(torch.cat(codes), model.codebook_size))
        return metrics, torch.cat(outputs)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
