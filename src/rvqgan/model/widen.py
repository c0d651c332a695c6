"""Widen a trained encoder without changing what it computes, so that training goes on from it.

A trained codec whose one-pass encoder has stopped improving (docs/recipe.md, "Training the
encoder alone") can be given more encoder channels without starting over. Every layer of
the widened encoder holds the old layer in its leading channels; each added channel gets
the usual random initialization on the side that produces it, and a zero weight on every
side that reads it. The added channels therefore compute something from the first step,
but no old channel and no output reads them: the widened model's latent, codes and audio
are the old model's (to float rounding), and gradient descent decides how much of the new
channels to let in (the zero weights that read them get nonzero gradients at once).

The latent width stays the old one (``latent_dim`` is set explicitly), so the quantizer
and the decoder, copied unchanged, still fit. Weight normalization is respected: each
layer is set from its effective weight (``g = ||w||``, ``v = w``), and zero columns do
not change an old row's norm.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from rvqgan.errors import ConfigError
from rvqgan.model.codec import Codec
from rvqgan.nn.conv import WNConv1d
from rvqgan.nn.snake import Snake


def widen_encoder(model: Codec, encoder_dim: int, *, seed: int = 0) -> Codec:
    """A copy of ``model`` whose encoder has ``encoder_dim`` channels after its first layer.

    Args:
        model: a trained codec (not folded: the widened model is for training).
        encoder_dim: the new ``encoder_dim``; at least the old one.
        seed: seeds the random initialization of the added channels.

    Returns:
        Codec: a new model, in training form, whose outputs equal ``model``'s to float
        rounding; ``model`` is not changed.

    Raises:
        ConfigError: a smaller ``encoder_dim``, or a folded model.
    """
    old = model.config
    if encoder_dim < old.encoder_dim:
        raise ConfigError(f"widen_encoder: encoder_dim {encoder_dim} is narrower than the model's {old.encoder_dim}")
    if any(getattr(m, "folded", False) for m in model.modules()):
        raise ConfigError("widen_encoder: the model is folded for inference; load it with fold=False")
    config = replace(old, encoder_dim=encoder_dim, latent_dim=old.latent_channels)
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=generator)))
        wide = Codec(config)
    wide.name = model.name
    old_modules = dict(model.encoder.named_modules())
    with torch.no_grad():
        for name, layer in wide.encoder.named_modules():
            if isinstance(layer, WNConv1d):
                _widen_conv(old_modules[name], layer)
            elif isinstance(layer, Snake):
                channels = old_modules[name].alpha.shape[1]
                layer.alpha[:, :channels] = old_modules[name].alpha
            elif list(layer.parameters(recurse=False)):
                raise ConfigError(f"widen_encoder: does not know how to widen {name} ({type(layer).__name__})")
        encoder_state = {f"encoder.{k}" for k in wide.encoder.state_dict()}
        rest = {k: v for k, v in model.state_dict().items() if k not in encoder_state}
        missing, unexpected = wide.load_state_dict(rest, strict=False)
        if set(missing) != encoder_state or unexpected:
            raise ConfigError(f"widen_encoder: state dicts differ outside the encoder ({unexpected or missing})")
    wide.train(model.training)
    return wide


def _widen_conv(old: WNConv1d, new: WNConv1d) -> None:
    """New layer: the old effective weight in its leading block, zeros reading added inputs."""
    weight = new.effective_weight().detach().clone()
    out_old, in_old = old.out_channels, old.in_channels
    weight[:out_old, :in_old] = old.effective_weight()
    weight[:out_old, in_old:] = 0.0
    new.set_plain_weight(weight)
    if old.bias is not None:
        new.bias[:out_old] = old.bias
        new.bias[out_old:] = 0.0

