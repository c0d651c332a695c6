"""The one tensor layout every checkpoint format maps onto, its content hash, atomic writes.

Checkpoints always hold the *training form* of the generator: every weight-normalized
convolution as ``weight_g`` / ``weight_v``, exactly the names of
``Codec(config).state_dict()``. A folded model (``fold_weight_norm``) is written back in
that form (``weight_v = weight``, ``weight_g = ||weight||``) so that a file never
depends on how the model happened to be prepared in memory.

The content hash identifies the tensors of a file: SHA-256 over the tensors taken in
sorted name order, each contributing ``"{name}\\n{dtype}\\n{shape}\\n"`` (dtype as torch
spells it without the ``torch.`` prefix, shape as comma-separated ints) followed by its
raw little-endian bytes, in the dtype it is stored in.
"""

from __future__ import annotations

import hashlib
import os
import sys
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path

import torch

from rvqgan.errors import CheckpointError
from rvqgan.model import Codec, CodecConfig
from rvqgan.nn import WNConv1d, WNConvTranspose1d

STORAGE_DTYPES = {"float32": torch.float32, "float16": torch.float16}


def training_tensors(model: Codec, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """The model's tensors in training form, detached copies on the CPU in ``dtype``.

    Args:
        model: the generator, folded or not.
        dtype: storage dtype of floating tensors (float32 or float16).

    Returns:
        dict: name -> contiguous tensor, names as in ``Codec(config).state_dict()``.
    """
    if dtype not in STORAGE_DTYPES.values():
        raise CheckpointError(f"checkpoint dtype must be torch.float32 or torch.float16, got {dtype}")
    tensors = {name: value.detach() for name, value in model.state_dict().items()}
    for name, module in model.named_modules():
        if isinstance(module, (WNConv1d, WNConvTranspose1d)) and module.folded:
            weight = tensors.pop(f"{name}.weight")
            # g = ||w|| and v = w define the same effective weight as the folded tensor.
            tensors[f"{name}.weight_v"] = weight
            tensors[f"{name}.weight_g"] = weight.norm(dim=tuple(range(1, weight.dim())), keepdim=True)
    out = {}
    for name, value in tensors.items():
        value = value.to("cpu")
        if value.is_floating_point():
            value = value.to(dtype)
        out[name] = value.contiguous().clone()
    return out


def tensor_hash(tensors: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 hex digest of ``tensors`` (see the module docstring for the exact bytes)."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        value = tensors[name].detach().to("cpu").contiguous()
        dtype = str(value.dtype).removeprefix("torch.")
        shape = ",".join(str(s) for s in value.shape)
        digest.update(f"{name}\n{dtype}\n{shape}\n".encode())
        digest.update(_raw_bytes(value))
    return digest.hexdigest()


def _raw_bytes(value: torch.Tensor) -> bytes:
    """The tensor's bytes in little-endian order, whatever the machine."""
    data = value.reshape(-1).view(torch.uint8).numpy().tobytes()
    if sys.byteorder == "little" or value.element_size() == 1:
        return data
    return value.reshape(-1).numpy().byteswap().tobytes()


def model_hash(model: Codec) -> str:
    """The content hash :func:`save_model` would store for ``model`` in float32."""
    return tensor_hash(training_tensors(model, torch.float32))


def build_model(config: CodecConfig, tensors: Mapping[str, torch.Tensor], source: str) -> Codec:
    """A :class:`Codec` of ``config`` holding ``tensors`` (training form), in eval mode.

    Floating tensors are loaded as float32 whatever their stored dtype.

    Raises:
        CheckpointError: a tensor is missing, unexpected, of the wrong shape or not
            floating point; the message names the tensor(s) and ``source``.
    """
    model = Codec(config)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing:
        raise CheckpointError(
            f"{source}: missing tensor(s) {_names(missing)} that a model of its config needs; "
            "the file is incomplete or was written for another architecture"
        )
    if unexpected:
        raise CheckpointError(
            f"{source}: unexpected tensor(s) {_names(unexpected)} that a model of its config does not have; "
            "the file was written for another architecture"
        )
    for name, want in expected.items():
        got = tensors[name]
        if tuple(got.shape) != tuple(want.shape):
            raise CheckpointError(
                f"{source}: tensor {name} has shape {tuple(got.shape)} in the file, but the model built "
                f"from its config expects {tuple(want.shape)}"
            )
        if not got.is_floating_point():
            raise CheckpointError(f"{source}: tensor {name} has dtype {got.dtype}; expected a floating dtype")
    model.load_state_dict({name: value.to(torch.float32) for name, value in tensors.items()}, strict=True)
    return model.eval()


def _names(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" (and {len(names) - limit} more)" if len(names) > limit else "")


def count_parameters(tensors: Mapping[str, torch.Tensor]) -> int:
    """Total number of elements of ``tensors``."""
    return sum(value.numel() for value in tensors.values())


def atomic_write(path: str | os.PathLike, write: Callable[[str], None], overwrite: bool) -> Path:
    """Write a file through ``write(temp_path)`` then rename it into place.

    The temporary file lives in the destination folder so that ``os.replace`` is an
    atomic rename: a reader never sees a half-written checkpoint, and an interrupted
    write leaves the old file (if any) untouched.

    Raises:
        CheckpointError: ``path`` exists and ``overwrite`` is false, or its folder is missing.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise CheckpointError(f"{path} already exists; pass overwrite=True (CLI: --overwrite) to replace it")
    if not path.parent.is_dir():
        raise CheckpointError(f"cannot write {path}: folder {path.parent} does not exist")
    # A fresh name created by the writer itself (not mkstemp) keeps the usual umask permissions.
    tmp = str(path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
