"""The one exception family of rvqgan.

Every error a user can meet (a bad file, a wrong sample rate, a corrupt bitstream, a
checkpoint that does not match) is raised as a subclass of :class:`RvqganError`, with
a message that says what is wrong and what to do.
"""

from __future__ import annotations


class RvqganError(Exception):
    """Base class of every error rvqgan raises on purpose."""


class ConfigError(RvqganError, ValueError):
    """A configuration has an unknown key, a wrong type or an impossible value."""


class CheckpointError(RvqganError):
    """A checkpoint is missing, corrupt, or does not match the model it is loaded into."""


class BitstreamError(RvqganError):
    """An ``.rvq`` file is truncated, corrupt, foreign, or of an unsupported version."""


class AudioError(RvqganError):
    """Audio that cannot be read, written or coded (empty, NaN, unsupported format...)."""


class InputError(RvqganError, ValueError):
    """A tensor given to the model has the wrong shape, dtype or range."""
