"""Entropy coding of RVQ codes: a code language model, static tables, and an ANS coder.

Two codings shrink an ``.rvq`` file without changing a single code:

* ``static``: per-codebook frequency tables of the codec (``static.py``);
* ``lm``: a small causal transformer over the codes (``lm.py`` trains in float;
  ``integer_lm.py`` runs its integer export), in the spirit of EnCodec's.

Both drive ``constriction``'s ANS coder (``coder.py``) with integer tables computed
*exactly* (``fixed_point.py``, ``probabilities.py``), so a file decodes bit for bit on
any machine, thread count or batch layout: see ``docs/entropy.md`` for the argument.
The models live beside their codec checkpoint (``model_files.py``) and are found by
``rvqgan.load_model``; ``rvqgan train-lm`` makes them (``training.py``).

Example::

    model = rvqgan.load_model("my_codec.safetensors")      # finds my_codec.lm.safetensors
    rvqgan.compress(model, "in.flac", "out.rvq", entropy="lm")
    rvqgan.decompress("out.rvq", "back.wav", model)
"""

from rvqgan.entropy.coder import LMCoder, StaticCoder
from rvqgan.entropy.integer_lm import FrameDecoder, IntegerLM
from rvqgan.entropy.lm import CodeLM, CodeLMConfig
from rvqgan.entropy.model_files import (
    EntropyFile,
    EntropyModels,
    lm_path_for,
    load_lm,
    load_static,
    save_lm,
    save_static,
    static_path_for,
)
from rvqgan.entropy.probabilities import TOTAL, frequencies_from_counts, frequencies_from_logits
from rvqgan.entropy.selection import CODINGS, coder_for, decoder_for
from rvqgan.entropy.static import StaticTables, count_codes

__all__ = [
    "CODINGS",
    "TOTAL",
    "CodeLM",
    "CodeLMConfig",
    "EntropyFile",
    "EntropyModels",
    "FrameDecoder",
    "IntegerLM",
    "LMCoder",
    "StaticCoder",
    "StaticTables",
    "coder_for",
    "count_codes",
    "decoder_for",
    "frequencies_from_counts",
    "frequencies_from_logits",
    "lm_path_for",
    "load_lm",
    "load_static",
    "save_lm",
    "save_static",
    "static_path_for",
]
