"""The rvqgan checkpoint: one ``.safetensors`` file, tensors plus JSON metadata.

The safetensors header's string metadata holds:

====================  ==========================================================
``format``            ``rvqgan-checkpoint``
``format_version``    ``1`` (decimal text)
``config``            JSON of the :class:`~rvqgan.model.CodecConfig` (``rvqgan.config.to_dict``)
``name``              the model's name (text)
``content_hash``      SHA-256 hex of the tensors (:func:`~rvqgan.checkpoint.tensors.tensor_hash`)
``card``              optional JSON object: data, recipe, steps, anything worth keeping
====================  ==========================================================

Tensors are the training form (``weight_g`` / ``weight_v``), stored in float32 or
float16; float16 files load back as float32 and carry the hash of their float16 bytes.
safetensors parses without executing anything, so a foreign or corrupt file can only
produce a :class:`~rvqgan.errors.CheckpointError`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from rvqgan.checkpoint.tensors import atomic_write, build_model, tensor_hash, training_tensors
from rvqgan.config import from_dict, to_dict
from rvqgan.errors import CheckpointError, ConfigError
from rvqgan.model import Codec, CodecConfig

FORMAT = "rvqgan-checkpoint"
FORMAT_VERSION = 1


def save_model(
    model: Codec,
    path: str | os.PathLike,
    *,
    name: str | None = None,
    dtype: torch.dtype = torch.float32,
    card: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> str:
    """Write ``model`` as an rvqgan checkpoint.

    Args:
        model: the generator (folded or not; the file always holds the training form).
        path: destination ``.safetensors`` file; written atomically.
        name: the model's name; default ``model.name`` unless it is ``"unnamed"``,
            else the file's stem.
        dtype: ``torch.float32`` or ``torch.float16`` storage.
        card: free JSON-serializable dict describing the model (data, recipe, steps...).
        overwrite: replace an existing file.

    Returns:
        str: the content hash stored in the file.

    Raises:
        CheckpointError: the file exists (without ``overwrite``), the dtype is not
            supported, or the card is not a JSON-serializable dict.
    """
    path = Path(path)
    if name is None:
        name = model.name if model.name and model.name != "unnamed" else path.stem
    if not isinstance(name, str) or not name:
        raise CheckpointError(f"checkpoint name must be a non-empty string, got {name!r}")
    tensors = training_tensors(model, dtype)
    content_hash = tensor_hash(tensors)
    metadata = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "config": json.dumps(to_dict(model.config), sort_keys=True),
        "name": name,
        "content_hash": content_hash,
    }
    if card is not None:
        if not isinstance(card, dict):
            raise CheckpointError(f"card must be a dict, got {type(card).__name__}")
        try:
            metadata["card"] = json.dumps(card, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"card must be JSON-serializable: {exc}") from exc
    atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=metadata), overwrite)
    return content_hash


def read_rvqgan_info(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata of an rvqgan checkpoint, checked, without reading the tensors' data.

    Returns:
        dict with ``format``, ``format_version``, ``name``, ``content_hash``, ``config``
        (dict), ``card`` (dict or None), ``dtype`` (storage dtype name), ``n_tensors``
        and ``n_parameters``.
    """
    with _open(path) as handle:
        meta = _check_metadata(path, handle.metadata())
        dtypes, n_params, names = set(), 0, list(handle.keys())
        for key in names:
            piece = handle.get_slice(key)
            dtypes.add(piece.get_dtype())
            n_params += _numel(piece.get_shape())
    names_of = {"F32": "float32", "F16": "float16", "BF16": "bfloat16", "F64": "float64"}
    meta["dtype"] = names_of.get(next(iter(dtypes)), "other") if len(dtypes) == 1 else "mixed"
    meta["n_tensors"] = len(names)
    meta["n_parameters"] = n_params
    return meta


def load_rvqgan(path: str | os.PathLike) -> Codec:
    """Read, verify and build the model of an rvqgan checkpoint (eval mode, float32).

    Raises:
        CheckpointError: unreadable or corrupt file (hash mismatch), foreign format,
            unsupported version, bad config (the field is named), tensors that do not
            match the config (the tensor and both shapes are named).
    """
    with _open(path) as handle:
        meta = _check_metadata(path, handle.metadata())
        names = handle.keys()
        tensors = {key: handle.get_tensor(key) for key in names}
    actual = tensor_hash(tensors)
    if actual != meta["content_hash"]:
        raise CheckpointError(
            f"{path}: the file is corrupt: its tensors hash to {actual[:16]}..., but the file says "
            f"{meta['content_hash'][:16]}...; download or copy it again"
        )
    config = config_from_dict(meta["config"], str(path))
    model = build_model(config, tensors, str(path))
    model.name = meta["name"]
    model.content_hash = meta["content_hash"]
    return model


def config_from_dict(data: Any, source: str) -> CodecConfig:
    """Build the :class:`CodecConfig` stored in a checkpoint; errors name the field."""
    try:
        return from_dict(CodecConfig, data)
    except ConfigError as exc:
        raise CheckpointError(f"{source}: invalid model config: {exc}") from exc


def _open(path: str | os.PathLike):
    if not Path(path).is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        return safe_open(str(path), framework="pt", device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: the file is corrupt or not a safetensors checkpoint ({exc})") from exc


def _check_metadata(path: str | os.PathLike, raw: dict[str, str] | None) -> dict[str, Any]:
    """Parse and check the header metadata; return it with JSON fields decoded."""
    raw = raw or {}
    if raw.get("format") != FORMAT:
        raise CheckpointError(
            f"{path}: not an rvqgan checkpoint (metadata format={raw.get('format')!r}, expected {FORMAT!r})"
        )
    version = raw.get("format_version", "")
    if not version.isdigit():
        raise CheckpointError(f"{path}: the file is corrupt: format_version {version!r} is not an integer")
    if int(version) != FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format_version {int(version)} is not supported by this rvqgan, which reads "
            f"version {FORMAT_VERSION}; upgrade rvqgan (newer file) or convert the file"
        )
    for key in ("config", "name", "content_hash"):
        if key not in raw:
            raise CheckpointError(f"{path}: the file is corrupt: its metadata has no {key!r}")
    meta: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION, "name": raw["name"]}
    meta["content_hash"] = raw["content_hash"]
    meta["config"] = _json_field(path, raw, "config")
    meta["card"] = _json_field(path, raw, "card") if "card" in raw else None
    for key in ("config", "card"):
        if meta[key] is not None and not isinstance(meta[key], dict):
            raise CheckpointError(f"{path}: the file is corrupt: metadata {key!r} is not a JSON object")
    return meta


def _json_field(path: str | os.PathLike, raw: dict[str, str], key: str) -> Any:
    try:
        return json.loads(raw[key])
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: the file is corrupt: metadata {key!r} is not valid JSON ({exc})") from exc


def _numel(shape: list[int]) -> int:
    total = 1
    for size in shape:
        total *= size
    return total
