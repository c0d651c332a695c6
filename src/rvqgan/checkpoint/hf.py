"""Bridge to transformers' ``DacModel`` (an optional dependency, imported lazily).

``DacModel`` keeps the official layout under other names and, as published, plain
convolution weights (the weight norm was removed at conversion). Carrying weights over
is done module by module: a plain weight ``w`` becomes ``weight_g = ||w||``,
``weight_v = w`` here, and an effective weight goes back as a plain weight.

Config mapping (DacConfig -> CodecConfig): ``sampling_rate`` -> sample_rate,
``encoder_hidden_size`` -> encoder_dim, ``downsampling_ratios`` -> encoder_rates,
``hidden_size`` -> latent_dim, ``decoder_hidden_size`` -> decoder_dim,
``upsampling_ratios`` -> decoder_rates, ``n_codebooks``, ``codebook_size``,
``codebook_dim``, ``quantizer_dropout``; ``hop_length`` is derived on both sides.
DacConfig derives ``hidden_size`` and ``upsampling_ratios`` from the encoder settings,
so models with another latent width (the official 16 kbps model) or non-mirrored
decoder rates cannot be expressed as a DacModel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from rvqgan.checkpoint.format import config_from_dict
from rvqgan.errors import CheckpointError
from rvqgan.model import Codec, CodecConfig
from rvqgan.nn import Snake, WNConv1d, WNConvTranspose1d

if TYPE_CHECKING:
    from transformers import DacConfig, DacModel

_RES_LAYERS = {"act1": "snake1", "conv1": "conv1", "act2": "snake2", "conv2": "conv2"}


def hf_module_map(config: CodecConfig) -> dict[str, str]:
    """Our module name -> the DacModel module name, for every module holding tensors."""
    names: dict[str, str] = {"encoder.conv_in": "encoder.conv1"}
    for i in range(len(config.encoder_rates)):
        ours, theirs = f"encoder.blocks.{i}", f"encoder.block.{i}"
        _res_units(names, ours, theirs)
        names[f"{ours}.act"] = f"{theirs}.snake1"
        names[f"{ours}.down"] = f"{theirs}.conv1"
    names["encoder.act"] = "encoder.snake1"
    names["encoder.conv_out"] = "encoder.conv2"
    names["decoder.conv_in"] = "decoder.conv1"
    for i in range(len(config.decoder_rates)):
        ours, theirs = f"decoder.blocks.{i}", f"decoder.block.{i}"
        names[f"{ours}.act"] = f"{theirs}.snake1"
        names[f"{ours}.up"] = f"{theirs}.conv_t1"
        _res_units(names, ours, theirs)
    names["decoder.act"] = "decoder.snake1"
    names["decoder.conv_out"] = "decoder.conv2"
    for k in range(config.n_codebooks):
        for layer in ("in_proj", "out_proj", "codebook"):
            names[f"quantizer.quantizers.{k}.{layer}"] = f"quantizer.quantizers.{k}.{layer}"
    return names


def _res_units(names: dict[str, str], ours: str, theirs: str) -> None:
    for j in range(3):
        for mine, hf in _RES_LAYERS.items():
            names[f"{ours}.res.{j}.{mine}"] = f"{theirs}.res_unit{j + 1}.{hf}"


def config_from_hf(hf_config: DacConfig) -> CodecConfig:
    """The :class:`CodecConfig` of a transformers ``DacConfig``."""
    encoder_rates = tuple(int(r) for r in hf_config.downsampling_ratios)
    latent = int(hf_config.hidden_size)
    data: dict[str, Any] = {
        "sample_rate": int(hf_config.sampling_rate),
        "encoder_dim": int(hf_config.encoder_hidden_size),
        "encoder_rates": list(encoder_rates),
        # None when it is the default derivation, so configs compare equal to the presets'.
        "latent_dim": None if latent == hf_config.encoder_hidden_size * 2 ** len(encoder_rates) else latent,
        "decoder_dim": int(hf_config.decoder_hidden_size),
        "decoder_rates": [int(r) for r in hf_config.upsampling_ratios],
        "n_codebooks": int(hf_config.n_codebooks),
        "codebook_size": int(hf_config.codebook_size),
        "codebook_dim": int(hf_config.codebook_dim),
        "quantizer_dropout": float(hf_config.quantizer_dropout),
    }
    return config_from_dict(data, "DacConfig")


def config_to_hf(config: CodecConfig) -> DacConfig:
    """A transformers ``DacConfig`` for ``config``.

    Raises:
        CheckpointError: the layout cannot be expressed by DacConfig (causal, ReLU,
            a latent width or decoder rates it does not derive itself).
    """
    from transformers import DacConfig

    problems = []
    if config.activation != "snake" or config.causal:
        problems.append(f"activation={config.activation!r}, causal={config.causal} (DacModel: Snake, centred)")
    if config.latent_channels != config.encoder_dim * 2 ** len(config.encoder_rates):
        problems.append(f"latent_dim={config.latent_channels} (DacConfig derives encoder_dim * 2**len(rates))")
    if tuple(config.decoder_rates) != tuple(reversed(config.encoder_rates)):
        problems.append(f"decoder_rates={config.decoder_rates} (DacConfig uses the reversed encoder rates)")
    if problems:
        raise CheckpointError("this model cannot be expressed as a transformers DacModel: " + "; ".join(problems))
    return DacConfig(
        encoder_hidden_size=config.encoder_dim,
        downsampling_ratios=list(config.encoder_rates),
        decoder_hidden_size=config.decoder_dim,
        n_codebooks=config.n_codebooks,
        codebook_size=config.codebook_size,
        codebook_dim=config.codebook_dim,
        quantizer_dropout=float(config.quantizer_dropout),
        sampling_rate=config.sample_rate,
    )


def from_hf(dac_model: DacModel) -> Codec:
    """An rvqgan :class:`Codec` with the weights of a transformers ``DacModel`` (eval mode).

    Works whether or not ``dac_model`` has weight norm applied (its ``.weight`` is the
    effective weight either way).
    """
    config = config_from_hf(dac_model.config)
    model = Codec(config)
    with torch.no_grad():
        for ours, theirs in hf_module_map(config).items():
            _copy_in(model.get_submodule(ours), _hf_submodule(dac_model, theirs), theirs)
    model.name = str(getattr(dac_model.config, "name_or_path", "") or "dac-hf")
    return model.eval()


def to_hf(model: Codec) -> DacModel:
    """A transformers ``DacModel`` (plain weights, eval mode) with the weights of ``model``."""
    from transformers import DacModel

    dac_model = DacModel(config_to_hf(model.config))
    with torch.no_grad():
        for ours, theirs in hf_module_map(model.config).items():
            _copy_out(model.get_submodule(ours), _hf_submodule(dac_model, theirs), theirs)
    return dac_model.eval()


def _hf_submodule(dac_model: nn.Module, name: str) -> nn.Module:
    try:
        return dac_model.get_submodule(name)
    except AttributeError as exc:
        raise CheckpointError(
            f"the DacModel has no module {name}; is it a DAC model of this transformers version?"
        ) from exc


def _copy_in(ours: nn.Module, theirs: nn.Module, name: str) -> None:
    """Copy one DacModel layer's tensors into ours, checking shapes."""
    if isinstance(ours, (WNConv1d, WNConvTranspose1d)):
        _check_shape(name, theirs.weight, ours.effective_weight())
        norm = _weight_norm_pair(theirs)
        if norm is not None and not ours.folded:
            # Weight norm applied on their side (apply_weight_norm): keep (g, v) exactly.
            _copy_tensor(name + ".weight_g", ours.weight_g, norm[0])
            _copy_tensor(name + ".weight_v", ours.weight_v, norm[1])
        else:
            ours.set_plain_weight(theirs.weight.detach().float())
        _copy_tensor(name + ".bias", ours.bias, theirs.bias)
    elif isinstance(ours, Snake):
        _copy_tensor(name + ".alpha", ours.alpha, theirs.alpha)
    elif isinstance(ours, nn.Embedding):
        _copy_tensor(name + ".weight", ours.weight, theirs.weight)
    else:
        raise CheckpointError(f"no rule to carry weights into {type(ours).__name__} ({name})")


def _weight_norm_pair(layer: nn.Module) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(g, v) of a layer under ``torch.nn.utils.parametrizations.weight_norm(dim=0)``, else None."""
    parametrizations = getattr(layer, "parametrizations", None)
    if parametrizations is None or "weight" not in parametrizations:
        return None
    weight = parametrizations.weight
    if not hasattr(weight, "original0") or not hasattr(weight, "original1"):
        return None
    return weight.original0, weight.original1


def _copy_out(ours: nn.Module, theirs: nn.Module, name: str) -> None:
    """Copy one of our layers into the matching DacModel layer, as plain weights."""
    if isinstance(ours, (WNConv1d, WNConvTranspose1d)):
        _copy_tensor(name + ".weight", theirs.weight, ours.effective_weight())
        _copy_tensor(name + ".bias", theirs.bias, ours.bias)
    elif isinstance(ours, Snake):
        _copy_tensor(name + ".alpha", theirs.alpha, ours.alpha)
    elif isinstance(ours, nn.Embedding):
        _copy_tensor(name + ".weight", theirs.weight, ours.weight)
    else:
        raise CheckpointError(f"no rule to carry weights out of {type(ours).__name__} ({name})")


def _check_shape(name: str, got: torch.Tensor, want: torch.Tensor) -> None:
    if tuple(got.shape) != tuple(want.shape):
        raise CheckpointError(
            f"DacModel tensor {name} has shape {tuple(got.shape)}, the rvqgan layer expects {tuple(want.shape)}"
        )


def _copy_tensor(name: str, dest: torch.Tensor, src: torch.Tensor) -> None:
    _check_shape(name, src, dest)
    dest.copy_(src.detach())
