"""Models, signals and operation counts shared by the inference speed benchmarks.

* :func:`full_pair`: transformers' ``DacModel`` at its ``DacConfig()`` defaults (the
  paper's layout, 76.7 M parameters; ``sampling_rate`` set to 44100, which only names
  the rate: the class's default says 16000 for the same layers) with random weights, and the rvqgan
  ``Codec`` carrying exactly the same weights (folded; bitwise the same tensors).
* :func:`default_pair`: the bundled default model (or, until it is bundled, the
  architecture of its recipe ``configs/default_cpu.yaml`` with random weights) and a
  ``DacModel`` carrying its weights.
* :func:`codec_flops`: floating-point operations per second of audio, counted from
  the convolution shapes (2 per multiply-add; Snake and the VQ look-ups are listed
  apart and are not in the total).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from rvqgan.checkpoint import from_hf, to_hf
from rvqgan.checkpoint.hf import hf_module_map
from rvqgan.model import Codec, CodecConfig
from rvqgan.nn import WNConv1d, WNConvTranspose1d, fold_weight_norm

REPO = Path(__file__).resolve().parents[1]
DEFAULT_RECIPE = REPO / "configs" / "default_cpu.yaml"


def carry_exact(codec: Codec, dac_model: torch.nn.Module) -> Codec:
    """Fold ``codec`` and give every convolution exactly the DacModel's plain weight.

    ``from_hf`` stores a plain weight w as (g = ||w||, v = w), whose product g v / ||v||
    differs from w in the last bit; folding then copying makes the tensors identical,
    so any difference in output comes from the computation alone.
    """
    fold_weight_norm(codec)
    with torch.no_grad():
        for ours, theirs in hf_module_map(codec.config).items():
            layer = codec.get_submodule(ours)
            if isinstance(layer, (WNConv1d, WNConvTranspose1d)):
                layer.set_plain_weight(dac_model.get_submodule(theirs).weight)
    return codec.eval()


def full_pair(seed: int = 0) -> tuple[Codec, torch.nn.Module]:
    """(rvqgan Codec, transformers DacModel) of the 44.1 kHz paper model, same random weights."""
    from transformers import DacConfig, DacModel

    torch.manual_seed(seed)
    dac_model = DacModel(DacConfig(sampling_rate=44100)).eval()
    _randomize_alphas(dac_model, seed)
    return carry_exact(from_hf(dac_model), dac_model), dac_model


def default_pair(weights: str | None = None, seed: int = 0) -> tuple[Codec, torch.nn.Module, str]:
    """(Codec, DacModel, description) of the bundled default model or its recipe's architecture."""
    from rvqgan.api import load_model
    from rvqgan.errors import CheckpointError

    if weights is not None:
        codec, what = load_model(weights), f"weights {weights}"
    else:
        try:
            codec, what = load_model("default"), "bundled default model"
        except CheckpointError:
            codec, what = _recipe_model(seed), f"architecture of {DEFAULT_RECIPE.name}, random weights (not bundled yet)"
    try:
        dac_model = to_hf(codec)
    except CheckpointError as exc:
        raise SystemExit(f"{what}: the speed benchmark times rvqgan against a transformers DacModel carrying the "
                         f"same weights, and {exc}") from None
    return carry_exact(codec, dac_model), dac_model, what


def _recipe_model(seed: int) -> Codec:
    from rvqgan.train import load_config

    torch.manual_seed(seed)
    codec = Codec(load_config(DEFAULT_RECIPE).model).eval()
    _randomize_alphas(codec, seed)
    return codec


def _randomize_alphas(model: torch.nn.Module, seed: int) -> None:
    """Snake alphas in [0.5, 1.5] rather than all ones, as trained models have them spread."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("alpha"):
                param.copy_(0.5 + torch.rand(param.shape, generator=gen))


def test_signal(seconds: float, sample_rate: int, hop: int, seed: int = 0) -> torch.Tensor:
    """Tones gliding over noise, (1, 1, T) float32, T a whole number of hops (no padding).

    Made one second at a time, so that a long signal costs no float64 temporaries.
    """
    length = max(hop, int(seconds * sample_rate) // hop * hop)
    out = np.empty(length, dtype=np.float32)
    rng = np.random.default_rng(seed)
    for start in range(0, length, sample_rate):
        t = np.arange(start, min(length, start + sample_rate)) / sample_rate
        x = 0.3 * np.sin(2 * np.pi * (220 + 60 * np.sin(2 * np.pi * 0.3 * t)) * t)
        x += 0.1 * np.sin(2 * np.pi * 3300 * t) * (np.sin(2 * np.pi * 2 * t) > 0) + 0.02 * rng.standard_normal(t.size)
        out[start : start + t.size] = x
    return torch.from_numpy(out).view(1, 1, -1)


@dataclass(frozen=True)
class FlopCount:
    """Operations per second of audio (2 per multiply-add)."""

    encode: float
    decode: float
    encode_snake: float  # Snake elements, each ~5 operations plus a sine; not in ``encode``
    decode_snake: float


def codec_flops(config: CodecConfig) -> FlopCount:
    """Count the convolutions' operations per second of audio from the layer shapes."""
    rate = float(config.sample_rate)
    dim, enc, enc_snake = config.encoder_dim, 0.0, 0.0
    enc += 2 * 1 * dim * 7 * rate  # conv_in
    for stride in config.encoder_rates:
        enc += 3 * 2 * dim * dim * (7 + 1) * rate  # residual units: k7 dilated + k1
        enc_snake += 7 * dim * rate  # 2 per unit + the block's
        rate /= stride
        enc += 2 * dim * (2 * dim) * (2 * stride) * rate  # strided conv, per output frame
        dim *= 2
    latent, k, d, size = config.latent_channels, config.n_codebooks, config.codebook_dim, config.codebook_size
    enc += 2 * dim * latent * 3 * rate  # conv_out
    enc_snake += dim * rate
    enc += k * 2 * rate * (latent * d + d * size + d * latent)  # in_proj, look-up, out_proj
    frame_rate = rate
    dec = 2 * latent * config.decoder_dim * 7 * frame_rate + k * 2 * frame_rate * d * latent
    channels, rate, dec_snake = config.decoder_dim, frame_rate, 0.0
    for stride in config.decoder_rates:
        out = channels // 2
        dec_snake += channels * rate
        dec += 2 * channels * out * (2 * stride) * rate  # transposed conv, per input frame
        rate *= stride
        dec += 3 * 2 * out * out * (7 + 1) * rate
        dec_snake += 6 * out * rate
        channels = out
    dec += 2 * channels * 1 * 7 * rate
    dec_snake += channels * rate
    return FlopCount(enc, dec, enc_snake, dec_snake)
