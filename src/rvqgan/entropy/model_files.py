"""Entropy-model files beside their codec, and how a loaded codec finds them.

A codec checkpoint ``dir/NAME.safetensors`` (or ``dir/NAME.pth``) may have two sidecars:

====================================  =================================================
``dir/NAME.lm.safetensors``           the code LM (integer tensors of ``export.py``)
``dir/NAME.static.safetensors``       the static tables (tensor ``frequencies [K, V]``)
====================================  =================================================

Both are safetensors files whose string metadata holds ``format``, ``format_version``,
``name``, ``content_hash``, ``codec_name``, ``codec_hash`` (the content hash of the codec
they were made for, so that a sidecar of another codec is refused), an optional JSON
``card``, and for the LM its ``config`` (JSON of :class:`~rvqgan.entropy.lm.CodeLMConfig`).

The content hash identifies what the coder computes: SHA-256 over the format name, the
config JSON (sorted keys) and the tensors in sorted name order (each as
``"{name}\\n{dtype}\\n{shape}\\n"`` then its little-endian bytes). ``.rvq`` files record it;
decoding refuses an entropy model with another hash.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file

from rvqgan.config import from_dict, to_dict
from rvqgan.entropy.integer_lm import IntegerLM
from rvqgan.entropy.lm import CodeLMConfig
from rvqgan.entropy.static import StaticTables
from rvqgan.errors import CheckpointError, ConfigError, InputError

LM_FORMAT = "rvqgan-code-lm"
STATIC_FORMAT = "rvqgan-static-tables"
FORMAT_VERSION = 1
LM_SUFFIX = ".lm.safetensors"
STATIC_SUFFIX = ".static.safetensors"


def _stem(codec_path: str | os.PathLike) -> Path:
    path = Path(codec_path)
    return path.with_name(path.name[: -len(path.suffix)] if path.suffix else path.name)


def lm_path_for(codec_path: str | os.PathLike) -> Path:
    """Where the code LM of the codec at ``codec_path`` lives."""
    stem = _stem(codec_path)
    return stem.with_name(stem.name + LM_SUFFIX)


def static_path_for(codec_path: str | os.PathLike) -> Path:
    """Where the static tables of the codec at ``codec_path`` live."""
    stem = _stem(codec_path)
    return stem.with_name(stem.name + STATIC_SUFFIX)


def content_hash(fmt: str, config: dict[str, Any] | None, tensors: dict[str, np.ndarray]) -> str:
    """SHA-256 hex of an entropy model (see the module docstring)."""
    digest = hashlib.sha256(f"{fmt}\n{json.dumps(config, sort_keys=True)}\n".encode())
    for name in sorted(tensors):
        value = np.ascontiguousarray(tensors[name])
        value = value.astype(value.dtype.newbyteorder("<"), copy=False)
        digest.update(f"{name}\n{value.dtype.name}\n{','.join(map(str, value.shape))}\n".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class EntropyFile:
    """A loaded entropy model and its identity.

    Attributes:
        kind: ``"lm"`` or ``"static"``.
        model: an :class:`IntegerLM` or :class:`StaticTables`.
        name: its name (for messages and file headers).
        content_hash: what ``.rvq`` headers record.
        codec_name: the codec it was made for.
        codec_hash: that codec's content hash.
        card: free facts (training steps, validation bits per code...).
        path: where it was read from.
    """

    kind: str
    model: Any
    name: str
    content_hash: str
    codec_name: str
    codec_hash: str
    card: dict[str, Any] | None = None
    path: Path | None = None


def _write(path: Path, tensors: dict[str, np.ndarray], metadata: dict[str, str], overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise CheckpointError(f"{path} already exists; pass overwrite=True to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(temp), metadata=metadata)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def save_lm(
    path: str | os.PathLike,
    config: CodeLMConfig,
    tensors: dict[str, np.ndarray],
    *,
    name: str,
    codec_name: str,
    codec_hash: str,
    card: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> str:
    """Write an exported code LM; returns its content hash (the model is checked by loading it)."""
    config_dict = to_dict(config)
    IntegerLM(config, tensors)  # refuse to write what could not be loaded
    digest = content_hash(LM_FORMAT, config_dict, tensors)
    meta = _metadata(LM_FORMAT, name, digest, codec_name, codec_hash, card)
    meta["config"] = json.dumps(config_dict, sort_keys=True)
    _write(Path(path), tensors, meta, overwrite)
    return digest


def save_static(
    path: str | os.PathLike,
    tables: StaticTables,
    *,
    name: str,
    codec_name: str,
    codec_hash: str,
    card: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> str:
    """Write static tables; returns their content hash."""
    tensors = {"frequencies": np.asarray(tables.frequencies, dtype=np.int32)}
    config = {"floor": tables.floor}
    digest = content_hash(STATIC_FORMAT, config, tensors)
    meta = _metadata(STATIC_FORMAT, name, digest, codec_name, codec_hash, card)
    meta["config"] = json.dumps(config, sort_keys=True)
    _write(Path(path), tensors, meta, overwrite)
    return digest


def _metadata(fmt: str, name: str, digest: str, codec_name: str, codec_hash: str, card: Any) -> dict[str, str]:
    if not name or not codec_name or not codec_hash:
        raise InputError("an entropy model needs a name, a codec name and a codec hash")
    meta = {
        "format": fmt,
        "format_version": str(FORMAT_VERSION),
        "name": name,
        "content_hash": digest,
        "codec_name": codec_name,
        "codec_hash": codec_hash,
    }
    if card is not None:
        meta["card"] = json.dumps(card, sort_keys=True, allow_nan=False)
    return meta


def _read(path: Path, fmt: str) -> tuple[dict[str, str], dict[str, np.ndarray]]:
    if not path.is_file():
        raise CheckpointError(f"entropy model not found: {path}")
    try:
        with safe_open(str(path), framework="np") as handle:
            meta = dict(handle.metadata() or {})
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: corrupt or not a safetensors file ({exc})") from exc
    if meta.get("format") != fmt:
        raise CheckpointError(f"{path}: not a {fmt} file (format={meta.get('format')!r})")
    if meta.get("format_version") != str(FORMAT_VERSION):
        raise CheckpointError(
            f"{path}: {fmt} format_version {meta.get('format_version')!r} is not supported; upgrade rvqgan"
        )
    for key in ("name", "content_hash", "codec_name", "codec_hash", "config"):
        if key not in meta:
            raise CheckpointError(f"{path}: corrupt: its metadata has no {key!r}")
    return meta, tensors


def _json(path: Path, meta: dict[str, str], key: str) -> Any:
    try:
        return json.loads(meta[key]) if key in meta else None
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: corrupt: metadata {key!r} is not JSON ({exc})") from exc


def load_lm(path: str | os.PathLike) -> EntropyFile:
    """Read, verify (content hash, integer bounds) and build a code LM file."""
    path = Path(path)
    meta, tensors = _read(path, LM_FORMAT)
    config_dict = _json(path, meta, "config")
    try:
        config = from_dict(CodeLMConfig, config_dict)
    except ConfigError as exc:
        raise CheckpointError(f"{path}: invalid code LM config: {exc}") from exc
    digest = content_hash(LM_FORMAT, to_dict(config), tensors)
    if digest != meta["content_hash"]:
        raise CheckpointError(
            f"{path}: corrupt: its tensors hash to {digest[:16]}, the file says "
            f"{meta['content_hash'][:16]}; copy it again"
        )
    return EntropyFile(
        "lm",
        IntegerLM(config, tensors),
        meta["name"],
        digest,
        meta["codec_name"],
        meta["codec_hash"],
        _json(path, meta, "card"),
        path,
    )


def load_static(path: str | os.PathLike) -> EntropyFile:
    """Read and verify a static-tables file."""
    path = Path(path)
    meta, tensors = _read(path, STATIC_FORMAT)
    config = _json(path, meta, "config")
    if "frequencies" not in tensors or not isinstance(config, dict) or not isinstance(config.get("floor"), int):
        raise CheckpointError(f"{path}: corrupt static tables (no frequencies or floor)")
    digest = content_hash(STATIC_FORMAT, config, tensors)
    if digest != meta["content_hash"]:
        raise CheckpointError(f"{path}: corrupt: content hash mismatch; copy it again")
    try:
        tables = StaticTables(tensors["frequencies"].astype(np.int64), config["floor"])
    except InputError as exc:
        raise CheckpointError(f"{path}: corrupt static tables: {exc}") from exc
    return EntropyFile(
        "static", tables, meta["name"], digest, meta["codec_name"], meta["codec_hash"], _json(path, meta, "card"), path
    )


@dataclass
class EntropyModels:
    """The entropy models of one codec, found beside its checkpoint and loaded on first use.

    Attributes:
        codec_path: the codec checkpoint (``None`` for a model built in memory).
        codec_hash: the codec's content hash; sidecars made for another hash are refused.
        given: models supplied directly (by kind), used instead of files.
    """

    codec_path: Path | None
    codec_hash: str | None
    given: dict[str, EntropyFile] = field(default_factory=dict)

    def path(self, kind: str) -> Path | None:
        if self.codec_path is None:
            return None
        return lm_path_for(self.codec_path) if kind == "lm" else static_path_for(self.codec_path)

    def available(self, kind: str) -> bool:
        """Whether a model of ``kind`` is given or its file exists (not loaded)."""
        path = self.path(kind)
        return kind in self.given or (path is not None and path.is_file())

    def get(self, kind: str) -> EntropyFile:
        """The ``"lm"`` or ``"static"`` model, loaded and checked against the codec.

        Raises:
            CheckpointError: missing, corrupt, or made for another codec.
        """
        if kind not in ("lm", "static"):
            raise InputError(f"entropy must be 'none', 'static' or 'lm', got {kind!r}")
        if kind not in self.given:
            path = self.path(kind)
            if path is None or not path.is_file():
                where = f"expected at {path}" if path else "the codec was not loaded from a file"
                what = "code language model" if kind == "lm" else "static frequency tables"
                raise CheckpointError(
                    f"this codec has no {what} ({where}); make one with `rvqgan train-lm` "
                    f"or use another entropy coding ('none' always works)"
                )
            self.given[kind] = load_lm(path) if kind == "lm" else load_static(path)
        found = self.given[kind]
        if self.codec_hash is not None and found.codec_hash != self.codec_hash:
            raise CheckpointError(
                f"the {kind} entropy model {found.name!r} ({found.path}) was made for codec hash "
                f"{found.codec_hash[:16]}, but this codec's hash is {self.codec_hash[:16]}; retrain it "
                "with `rvqgan train-lm` for this codec"
            )
        return found


def entropy_models_of(codec: Any) -> EntropyModels:
    """The :class:`EntropyModels` attached to a loaded codec (an empty set if none)."""
    found = getattr(codec, "entropy_models", None)
    if isinstance(found, EntropyModels):
        return found
    return EntropyModels(None, getattr(codec, "content_hash", None))
