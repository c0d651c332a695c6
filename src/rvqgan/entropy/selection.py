"""Choosing the entropy coder for a file: by name when compressing, by hash when decoding."""

from __future__ import annotations

from typing import Any

from rvqgan.bitstream import EntropyInfo, RvqHeader
from rvqgan.entropy.coder import LMCoder, StaticCoder
from rvqgan.entropy.model_files import EntropyFile, entropy_models_of
from rvqgan.errors import CheckpointError, InputError

CODINGS = ("none", "static", "lm")


def check_coding(entropy: str) -> str:
    """Validate an ``entropy=`` argument."""
    if entropy not in CODINGS:
        raise InputError(f"entropy must be one of {list(CODINGS)}, got {entropy!r}")
    return entropy


def _coder(found: EntropyFile, channels: int, n_codebooks: int) -> StaticCoder | LMCoder:
    if found.kind == "lm":
        return LMCoder(found.model, channels, n_codebooks)
    return StaticCoder(found.model.frequencies, channels, n_codebooks)


def coder_for(
    codec: Any, entropy: str, channels: int, n_codebooks: int, entropy_model: EntropyFile | None = None
) -> tuple[StaticCoder | LMCoder | None, EntropyInfo | None]:
    """The chunk coder and header field for compressing with ``entropy``.

    Args:
        codec: the loaded codec (its entropy models are found beside its checkpoint).
        entropy: ``"none"``, ``"static"`` or ``"lm"``.
        channels: audio channels of the file.
        n_codebooks: codebooks kept.
        entropy_model: use this model instead of the codec's own files.

    Returns:
        ``(None, None)`` for ``"none"``.
    """
    if check_coding(entropy) == "none":
        return None, None
    found = entropy_model if entropy_model is not None else entropy_models_of(codec).get(entropy)
    if found.kind != entropy:
        raise InputError(f"entropy={entropy!r} but the entropy model given is a {found.kind} model")
    codec_hash = getattr(codec, "content_hash", None)
    if codec_hash is not None and found.codec_hash != codec_hash:
        raise CheckpointError(
            f"the {entropy} entropy model {found.name!r} was made for codec hash {found.codec_hash[:16]}, "
            f"not for this codec ({codec_hash[:16]})"
        )
    info = EntropyInfo(coding=entropy, model_name=found.name, model_hash=found.content_hash)
    return _coder(found, channels, n_codebooks), info


def decoder_for(
    header: RvqHeader, codec: Any, entropy_model: EntropyFile | None = None
) -> StaticCoder | LMCoder | None:
    """The chunk decoder a file's header asks for, or ``None`` if the file is not entropy-coded.

    Raises:
        CheckpointError: the entropy model the file needs is missing or different; the
            message names it (name and hash) and where it was looked for.
    """
    info = header.entropy
    if info is None:
        return None
    needed = (
        f"{'code LM' if info.coding == 'lm' else 'static tables'} {info.model_name!r} (hash {info.model_hash[:16]})"
    )
    if entropy_model is not None:
        found = entropy_model
    else:
        try:
            found = entropy_models_of(codec).get(info.coding)
        except CheckpointError as exc:
            raise CheckpointError(
                f"this file's codes were entropy-coded with the {needed}, which is not available: {exc}. "
                "Put that entropy model beside the codec checkpoint (or pass entropy_model=...)"
            ) from None
    if found.kind != info.coding or found.content_hash != info.model_hash:
        raise CheckpointError(
            f"this file's codes were entropy-coded with the {needed}, but the entropy model available is "
            f"{found.kind} {found.name!r} (hash {found.content_hash[:16]}"
            f"{', ' + str(found.path) if found.path else ''}); decoding needs exactly the model that coded it"
        )
    return _coder(found, header.channels, header.n_codebooks)
