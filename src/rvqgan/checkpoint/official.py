"""Official DAC checkpoints (``descript-audio-codec`` ``.pth`` files), read and written.

An official file is a torch zip/pickle of
``{"state_dict": {name: tensor}, "metadata": {"kwargs": {constructor arguments}}}``.
It is read with ``torch.load(..., weights_only=True)`` only, so a file that smuggles in
arbitrary Python objects is refused before anything of it runs.

The official modules are nested ``nn.Sequential`` s; their names map onto ours as:

=====================================  ============================================
rvqgan                                 official
=====================================  ============================================
encoder.conv_in                        encoder.block.0
encoder.blocks.i.res.j.{act1,conv1,    encoder.block.(i+1).block.j.block.{0,1,2,3}
act2,conv2}
encoder.blocks.i.act / .down           encoder.block.(i+1).block.3 / .block.4
encoder.act / encoder.conv_out         encoder.block.(n+1) / encoder.block.(n+2)
decoder.conv_in                        decoder.model.0
decoder.blocks.i.act / .up             decoder.model.(i+1).block.0 / .block.1
decoder.blocks.i.res.j.*               decoder.model.(i+1).block.(j+2).block.*
decoder.act / decoder.conv_out         decoder.model.(n+1) / decoder.model.(n+2)
quantizer.quantizers.k.*               quantizer.quantizers.k.* (same)
=====================================  ============================================

``quantizer_dropout``: the official constructor takes a bool or a float and drops
codebooks for the first ``int(batch * quantizer_dropout)`` items, so ``False`` means 0.0
and ``True`` means 1.0 (every item, SoundStream's original), and a float is the fraction.
Note that the official ``save`` records the constructor *default* (``False``) for it,
since the model keeps no attribute of that name; the value only matters for fine-tuning.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import torch

from rvqgan.checkpoint.format import config_from_dict
from rvqgan.checkpoint.tensors import atomic_write, build_model, tensor_hash, training_tensors
from rvqgan.errors import CheckpointError
from rvqgan.model import Codec, CodecConfig

# The official DAC constructor's arguments and defaults.
OFFICIAL_DEFAULTS: dict[str, Any] = {
    "encoder_dim": 64,
    "encoder_rates": [2, 4, 8, 8],
    "latent_dim": None,
    "decoder_dim": 1536,
    "decoder_rates": [8, 8, 4, 2],
    "n_codebooks": 9,
    "codebook_size": 1024,
    "codebook_dim": 8,
    "quantizer_dropout": False,
    "sample_rate": 44100,
}

# The three stride-1 layers of a residual unit, in the official nn.Sequential order.
_RES_LAYERS = ("act1", "conv1", "act2", "conv2")
# torch.nn.utils.parametrizations.weight_norm names (g, v) original0 / original1.
_PARAMETRIZED = {"parametrizations.weight.original0": "weight_g", "parametrizations.weight.original1": "weight_v"}


def official_module_map(config: CodecConfig) -> dict[str, str]:
    """Our module name -> the official module name, for every module holding tensors."""
    names: dict[str, str] = {}
    n_enc, n_dec = len(config.encoder_rates), len(config.decoder_rates)
    names["encoder.conv_in"] = "encoder.block.0"
    for i in range(n_enc):
        ours, theirs = f"encoder.blocks.{i}", f"encoder.block.{i + 1}.block"
        for j in range(3):
            for k, layer in enumerate(_RES_LAYERS):
                names[f"{ours}.res.{j}.{layer}"] = f"{theirs}.{j}.block.{k}"
        names[f"{ours}.act"] = f"{theirs}.3"
        names[f"{ours}.down"] = f"{theirs}.4"
    names["encoder.act"] = f"encoder.block.{n_enc + 1}"
    names["encoder.conv_out"] = f"encoder.block.{n_enc + 2}"
    names["decoder.conv_in"] = "decoder.model.0"
    for i in range(n_dec):
        ours, theirs = f"decoder.blocks.{i}", f"decoder.model.{i + 1}.block"
        names[f"{ours}.act"] = f"{theirs}.0"
        names[f"{ours}.up"] = f"{theirs}.1"
        for j in range(3):
            for k, layer in enumerate(_RES_LAYERS):
                names[f"{ours}.res.{j}.{layer}"] = f"{theirs}.{j + 2}.block.{k}"
    names["decoder.act"] = f"decoder.model.{n_dec + 1}"
    names["decoder.conv_out"] = f"decoder.model.{n_dec + 2}"
    for k in range(config.n_codebooks):
        for layer in ("in_proj", "out_proj", "codebook"):
            names[f"quantizer.quantizers.{k}.{layer}"] = f"quantizer.quantizers.{k}.{layer}"
    return names


def _rename(tensors: dict[str, torch.Tensor], modules: dict[str, str], source: str) -> dict[str, torch.Tensor]:
    """Rename ``module.leaf`` keys through ``modules``; unknown modules are an error."""
    out = {}
    for key, value in tensors.items():
        module, _, leaf = key.rpartition(".")
        if module not in modules:
            raise CheckpointError(f"{source}: unexpected tensor {key} (no such layer in a model of this config)")
        out[f"{modules[module]}.{leaf}"] = value
    return out


def config_from_kwargs(kwargs: dict[str, Any], source: str) -> CodecConfig:
    """The :class:`CodecConfig` of official constructor arguments (missing ones take the official default)."""
    if not isinstance(kwargs, dict):
        raise CheckpointError(f"{source}: metadata 'kwargs' must be a dict, got {type(kwargs).__name__}")
    unknown = sorted(set(kwargs) - set(OFFICIAL_DEFAULTS))
    if unknown:
        raise CheckpointError(
            f"{source}: unknown official DAC argument(s) {', '.join(unknown)}; known: {sorted(OFFICIAL_DEFAULTS)}"
        )
    data = {**OFFICIAL_DEFAULTS, **kwargs}
    dropout = data["quantizer_dropout"]
    if isinstance(dropout, bool):
        # Official semantics: int(batch * True) = every item drops codebooks.
        data["quantizer_dropout"] = 1.0 if dropout else 0.0
    dim = data["codebook_dim"]
    if isinstance(dim, (list, tuple)):
        if not dim or len(set(dim)) != 1:
            raise CheckpointError(f"{source}: codebook_dim {dim!r}: per-codebook dimensions are not supported")
        data["codebook_dim"] = dim[0]
    latent, enc, rates = data["latent_dim"], data["encoder_dim"], data["encoder_rates"]
    if isinstance(enc, int) and isinstance(rates, (list, tuple)) and latent == enc * 2 ** len(rates):
        data["latent_dim"] = None  # the default derivation: keeps configs equal to the presets'
    return config_from_dict(data, source)


def kwargs_from_config(config: CodecConfig) -> dict[str, Any]:
    """Official constructor arguments for ``config`` (``latent_dim`` resolved, as official files have it)."""
    if config.activation != "snake" or config.causal:
        raise CheckpointError(
            f"the official DAC layout has Snake activations and centred padding; this model has "
            f"activation={config.activation!r}, causal={config.causal} and cannot be written as an official file"
        )
    return {
        "encoder_dim": config.encoder_dim,
        "encoder_rates": list(config.encoder_rates),
        "latent_dim": config.latent_channels,
        "decoder_dim": config.decoder_dim,
        "decoder_rates": list(config.decoder_rates),
        "n_codebooks": config.n_codebooks,
        "codebook_size": config.codebook_size,
        "codebook_dim": config.codebook_dim,
        "quantizer_dropout": float(config.quantizer_dropout),
        "sample_rate": config.sample_rate,
    }


def read_official(path: str | os.PathLike) -> tuple[CodecConfig, dict[str, torch.Tensor]]:
    """Read an official file: its config and its tensors renamed to ours (stored dtype).

    Raises:
        CheckpointError: unreadable file, a pickle holding anything but tensors and
            plain containers, a wrong structure, unknown arguments or tensors.
    """
    source = str(path)
    if not Path(path).is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{source}: refused: the file holds objects other than tensors and plain containers, which "
            "could run code when unpickled; only weights-only official checkpoints are read"
        ) from exc
    except Exception as exc:  # torch raises RuntimeError, EOFError, zipfile errors... on a bad file
        raise CheckpointError(f"{source}: the file is corrupt or not a torch checkpoint ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("state_dict"), dict):
        raise CheckpointError(f"{source}: not an official DAC checkpoint (no 'state_dict' dict)")
    metadata = data.get("metadata")
    if not isinstance(metadata, dict) or "kwargs" not in metadata:
        raise CheckpointError(f"{source}: not an official DAC checkpoint (no 'metadata' with 'kwargs')")
    config = config_from_kwargs(metadata["kwargs"], source)
    tensors = {}
    for key, value in data["state_dict"].items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{source}: state_dict entry {key!r} is not a named tensor")
        for long, short in _PARAMETRIZED.items():
            if key.endswith(long):
                key = key[: -len(long)] + short
        tensors[key] = value
    inverse = {theirs: ours for ours, theirs in official_module_map(config).items()}
    return config, _rename(tensors, inverse, source)


def load_official(path: str | os.PathLike) -> Codec:
    """Build the model of an official ``.pth`` file (eval mode, float32).

    The model is named after the file's stem; its ``content_hash`` is the hash of its
    tensors in our layout (as :func:`~rvqgan.checkpoint.model_hash` computes it).
    """
    config, tensors = read_official(path)
    model = build_model(config, tensors, str(path))
    model.name = Path(path).stem
    model.content_hash = tensor_hash(tensors)
    return model


def official_state_dict(model: Codec) -> dict[str, torch.Tensor]:
    """The model's tensors (float32, training form) under the official names."""
    return _rename(training_tensors(model, torch.float32), official_module_map(model.config), "model")


def save_official(model: Codec, path: str | os.PathLike, overwrite: bool = False) -> str:
    """Write ``model`` as an official DAC ``.pth`` (float32), atomically.

    The file holds only tensors, strings, numbers and lists, so it loads with
    ``torch.load(weights_only=True)`` and with the official ``DAC.load``.

    Returns:
        str: the content hash of the tensors in our layout (:func:`model_hash`).
    """
    kwargs = kwargs_from_config(model.config)
    tensors = training_tensors(model, torch.float32)
    state = _rename(tensors, official_module_map(model.config), "model")
    payload = {"state_dict": state, "metadata": {"kwargs": kwargs}}
    atomic_write(path, lambda tmp: torch.save(payload, tmp), overwrite)
    return tensor_hash(tensors)
