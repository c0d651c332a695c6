"""Tiny codecs and comparisons shared by the inference tests."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rvqgan.inference import frames_for_length
from rvqgan.model import Codec, preset
from tests.conftest import randomize, tiny_config


def tiny_codec(layout: str = "tiny_44khz", seed: int = 0, **changes: object) -> Codec:
    """A narrow codec with the rates and sample rate of preset ``layout``, alphas and biases randomized."""
    base = preset(layout)
    config = tiny_config(
        sample_rate=base.sample_rate, encoder_rates=base.encoder_rates, decoder_rates=base.decoder_rates, **changes
    )
    torch.manual_seed(seed)
    return randomize(Codec(config), seed).eval()


def whole_file_codes(model: Codec, audio: torch.Tensor, n_quantizers: int | None = None) -> torch.Tensor:
    """One ``model.encode`` call on audio [C, T] zero-padded to the frames chunking codes."""
    frames = frames_for_length(model, audio.shape[-1])
    padded = F.pad(audio, (0, frames * model.hop_length - audio.shape[-1]))
    return model.encode(padded.unsqueeze(1), n_quantizers)


def relative_error_db(estimate: torch.Tensor, reference: torch.Tensor) -> float:
    """10 log10 of ||estimate - reference||^2 / ||reference||^2 (-inf when equal)."""
    num = (estimate.double() - reference.double()).pow(2).sum()
    return float(10 * torch.log10(num / reference.double().pow(2).sum()))
