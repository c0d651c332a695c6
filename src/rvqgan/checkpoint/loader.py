"""Load any supported checkpoint file, choosing the reader from the file's first bytes."""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any, Literal

from rvqgan.checkpoint.format import load_rvqgan, read_rvqgan_info
from rvqgan.checkpoint.official import load_official, read_official
from rvqgan.checkpoint.tensors import count_parameters, tensor_hash
from rvqgan.config import to_dict
from rvqgan.errors import CheckpointError
from rvqgan.model import Codec
from rvqgan.nn import fold_weight_norm

OFFICIAL_FORMAT = "dac-official"


def detect_format(path: str | os.PathLike) -> Literal["rvqgan", "official"]:
    """``"rvqgan"`` for a safetensors file, ``"official"`` for a torch ``.pth`` (zip or pickle).

    The decision is made on content, never on the file name.

    Raises:
        CheckpointError: missing file, or a file that is neither.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    with path.open("rb") as handle:
        head = handle.read(9)
    # safetensors: u64 little-endian header length (at most 100 MB), then the JSON header.
    # A truncated file still counts as one, so that its reader reports the damage.
    if len(head) == 9 and head[8:9] == b"{" and 0 < struct.unpack("<Q", head[:8])[0] <= 100_000_000:
        return "rvqgan"
    # torch.save: a zip archive (torch >= 1.6) or, for old files, a bare pickle stream.
    if head.startswith(b"PK\x03\x04") or head[:1] == b"\x80":
        return "official"
    raise CheckpointError(
        f"{path}: not a checkpoint rvqgan can read (neither an rvqgan .safetensors file nor an official DAC .pth)"
    )


def load_model_file(path: str | os.PathLike, *, fold: bool = False) -> Codec:
    """Load a generator from an rvqgan ``.safetensors`` or an official DAC ``.pth`` file.

    Args:
        path: the checkpoint; its format is detected from its content.
        fold: fold weight normalization into plain weights (faster inference; the model
            can no longer be trained or saved with its original ``weight_v`` scale).

    Returns:
        Codec: in eval mode, float32, with ``name`` and ``content_hash`` set.

    Raises:
        CheckpointError: see :func:`~rvqgan.checkpoint.format.load_rvqgan` and
            :func:`~rvqgan.checkpoint.official.read_official`.
    """
    model = load_rvqgan(path) if detect_format(path) == "rvqgan" else load_official(path)
    if fold:
        fold_weight_norm(model)
    return model.eval()


def read_checkpoint_info(path: str | os.PathLike) -> dict[str, Any]:
    """What a checkpoint holds, without building the model.

    Returns:
        dict with ``format`` (``"rvqgan-checkpoint"`` or ``"dac-official"``),
        ``format_version`` (None for official files), ``name``, ``content_hash``,
        ``config`` (dict), ``card`` (dict or None), ``dtype``, ``n_tensors``,
        ``n_parameters``. For rvqgan files the hash is the stored one (not
        re-verified: :func:`load_model_file` does that); for official files it is
        computed.
    """
    if detect_format(path) == "rvqgan":
        return read_rvqgan_info(path)
    config, tensors = read_official(path)
    dtypes = {str(value.dtype).removeprefix("torch.") for value in tensors.values()}
    return {
        "format": OFFICIAL_FORMAT,
        "format_version": None,
        "name": Path(path).stem,
        "content_hash": tensor_hash(tensors),
        "config": to_dict(config),
        "card": None,
        "dtype": dtypes.pop() if len(dtypes) == 1 else "mixed",
        "n_tensors": len(tensors),
        "n_parameters": count_parameters(tensors),
    }
