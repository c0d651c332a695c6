"""Inference beyond one model call: long files in chunks, at constant memory.

``encode_stream`` / ``decode_stream`` take and yield chunks (generators) and give the
same codes and audio as one whole-file call, with the output length equal to the input
length; ``encode_long`` / ``decode_long`` wrap them for arrays already in memory.
``encode_batch`` / ``decode_batch`` code many files of different lengths at once
(padded batches with padding masks), each exactly as coding it alone.
``refine_codes`` (and ``refine=`` of the encoders) chooses codes by analysis-by-synthesis:
a slower encode whose codes decode closer to the input; ``quality_preset`` names the
searches of ``--quality fast | realtime | best``.
"""

from rvqgan.inference.batched import DEFAULT_BATCH_SIZE, decode_batch, encode_batch
from rvqgan.inference.chunked import (
    DEFAULT_CHUNK_FRAMES,
    decode_long,
    decode_stream,
    encode_long,
    encode_stream,
    frames_for_length,
)
from rvqgan.inference.receptive import Context, decoder_context, encoder_context
from rvqgan.inference.refine import (
    QUALITIES,
    DefaultQuality,
    QualityPreset,
    RefineConfig,
    default_quality,
    encoder_search,
    quality_preset,
    refine_codes,
    refine_config,
    search_for,
)

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_CHUNK_FRAMES",
    "QUALITIES",
    "Context",
    "DefaultQuality",
    "QualityPreset",
    "RefineConfig",
    "decode_batch",
    "decode_long",
    "decode_stream",
    "decoder_context",
    "default_quality",
    "encode_batch",
    "encode_long",
    "encode_stream",
    "encoder_context",
    "encoder_search",
    "frames_for_length",
    "quality_preset",
    "refine_codes",
    "refine_config",
    "search_for",
]
