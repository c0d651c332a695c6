"""rvqgan: the Improved RVQGAN neural audio codec (Descript Audio Codec), with streaming
and entropy coding from EnCodec.

    >>> import rvqgan
    >>> model = rvqgan.load_model(path)                        # doctest: +SKIP
    >>> codes = model.encode(audio, n_quantizers=None)         # doctest: +SKIP
    >>> rvqgan.compress(model, "in.flac", "out.rvq")           # doctest: +SKIP
    >>> rvqgan.decompress("out.rvq", "back.wav")               # doctest: +SKIP

The names below are imported on first use, so that ``import rvqgan.train`` works on a
machine without the audio libraries (soundfile, soxr) that the file API needs.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "CompressResult": "rvqgan.api",
    "DecompressResult": "rvqgan.api",
    "compress": "rvqgan.api",
    "decompress": "rvqgan.api",
    "load_model": "rvqgan.api",
    "RvqganError": "rvqgan.errors",
    "Codec": "rvqgan.model",
    "CodecConfig": "rvqgan.model",
    "available_models": "rvqgan.models",
}

__all__ = sorted(_EXPORTS)  # noqa: PLE0605 (derived from the lazy table above, the one list of names)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rvqgan' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
