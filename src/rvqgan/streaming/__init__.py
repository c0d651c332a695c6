"""Streaming: code audio as it arrives with a causal model, frame by frame, equal to offline.

    >>> with model.streaming(batch_size=1):           # doctest: +SKIP
    ...     codes = model.encode_step(chunk)           # (B, C, n) -> (B*C, K, frames completed)
    ...     audio = model.decode_step(codes)           # (B*C, K, m) -> (B, C, m * hop)
    ...     tail = model.flush()                       # StreamTail(codes, audio) still owed

``state`` holds the per-layer state dataclasses, ``layers`` the streaming step of each
layer type, ``plan`` builds them from a model, ``session`` runs a stream, ``pipes``
connects files and standard input/output (``rvqgan encode/decode --stream``). See
``docs/streaming.md``.
"""

from rvqgan.streaming.errors import StreamingError
from rvqgan.streaming.session import (
    StreamingSession,
    StreamTail,
    active_session,
    require_causal,
    streamable_models,
    streaming,
)

__all__ = [
    "StreamTail",
    "StreamingError",
    "StreamingSession",
    "active_session",
    "require_causal",
    "streamable_models",
    "streaming",
]
