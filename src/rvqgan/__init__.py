"""rvqgan: the Improved RVQGAN neural audio codec (Descript Audio Codec), with streaming
and entropy coding from EnCodec.

    >>> import rvqgan
    >>> model = rvqgan.load_model(path)                        # doctest: +SKIP
    >>> codes = model.encode(audio, n_quantizers=None)         # doctest: +SKIP
    >>> rvqgan.compress(model, "in.flac", "out.rvq")           # doctest: +SKIP
    >>> rvqgan.decompress("out.rvq", "back.wav")               # doctest: +SKIP
"""

from rvqgan.api import CompressResult, DecompressResult, compress, decompress, load_model
from rvqgan.errors import RvqganError
from rvqgan.model import Codec, CodecConfig
from rvqgan.models import available_models

__version__ = "0.1.0"

__all__ = [
    "Codec",
    "CodecConfig",
    "CompressResult",
    "DecompressResult",
    "RvqganError",
    "available_models",
    "compress",
    "decompress",
    "load_model",
]
