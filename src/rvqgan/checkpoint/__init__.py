"""Model checkpoints: the rvqgan safetensors format, official DAC ``.pth`` files, transformers' DacModel.

Example::

    from rvqgan.checkpoint import load_model_file, save_model

    content_hash = save_model(model, "my_codec.safetensors", card={"steps": 400_000})
    model = load_model_file("my_codec.safetensors", fold=True)  # or an official weights.pth

The transformers bridge (:func:`from_hf`, :func:`to_hf`) imports transformers only when
called; it is not a dependency of the package.
"""

from rvqgan.checkpoint.format import FORMAT, FORMAT_VERSION, save_model
from rvqgan.checkpoint.hf import from_hf, to_hf
from rvqgan.checkpoint.loader import detect_format, load_model_file, read_checkpoint_info
from rvqgan.checkpoint.official import load_official, official_state_dict, save_official
from rvqgan.checkpoint.tensors import model_hash

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "detect_format",
    "from_hf",
    "load_model_file",
    "load_official",
    "model_hash",
    "official_state_dict",
    "read_checkpoint_info",
    "save_model",
    "save_official",
    "to_hf",
]
