"""Factorized, L2-normalized residual vector quantization with quantizer dropout."""

from rvqgan.quantize.rvq import QuantizerOutput, ResidualVectorQuantizer
from rvqgan.quantize.vq import VectorQuantizer

__all__ = ["QuantizerOutput", "ResidualVectorQuantizer", "VectorQuantizer"]
