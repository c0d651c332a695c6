"""The error of streaming misuse: a model that cannot stream, a step outside a session."""

from __future__ import annotations

from rvqgan.errors import RvqganError


class StreamingError(RvqganError):
    """Streaming was asked of a model that cannot stream, or a session was misused.

    Bad tensors given to a step raise :class:`~rvqgan.errors.InputError` instead, as
    they do offline.
    """
