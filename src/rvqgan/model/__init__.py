"""The generator: encoder, decoder, the Codec that joins them to the quantizer, presets."""

from rvqgan.model.codec import Codec, CodecOutput
from rvqgan.model.config import CodecConfig
from rvqgan.model.presets import PRESETS, preset

__all__ = ["PRESETS", "Codec", "CodecConfig", "CodecOutput", "preset"]
