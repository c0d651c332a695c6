"""A streaming session: encode audio and decode codes piece by piece, equal to offline.

``with model.streaming(batch_size=B) as stream:`` (or ``streaming(model, B)``) opens a
:class:`StreamingSession`; ``model.encode_step`` / ``decode_step`` / ``flush`` inside the
block go to it. The session holds the weights it needs (computed once) and the state
of every layer; the model is only read, so two models -- or two sessions of one model
made with :class:`StreamingSession` directly -- stream side by side.

Which session ``model.encode_step`` uses is looked up in a context variable: a session
belongs to the thread (or asyncio task) whose ``with`` block opened it, like
``torch.no_grad``. Nothing is stored on the model.

Channels. The model is mono; a chunk of ``C`` channels is coded as ``C`` mono streams,
as the offline path and the ``.rvq`` format do: audio (B, C, n) gives codes
(B * C, K, frames) whose row ``b * C + c`` is channel ``c`` of item ``b`` (for C = 1:
(B, K, frames)), and ``decode_step`` takes codes in that layout back to (B, C, samples).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from contextvars import ContextVar
from dataclasses import dataclass

import torch

from rvqgan.errors import InputError, RvqganError
from rvqgan.model.codec import Codec
from rvqgan.streaming.errors import StreamingError
from rvqgan.streaming.plan import QuantizerStep, decoder_steps, encoder_steps
from rvqgan.streaming.state import DecoderCounters, EncoderCounters


@dataclass(frozen=True)
class StreamTail:
    """What :meth:`StreamingSession.flush` returns: the end of a stream.

    Attributes:
        codes (Tensor): the last, zero-padded partial frame: (B * C, K, 1), or
            (B * C, K, 0) when the samples fed fill whole frames. int64.
        audio (Tensor): (B, C, n). In a loopback session (one that decoded exactly the
            frames it encoded) the decoding of ``codes`` cut to the samples fed, so that
            all audio returned equals the input in length; otherwise empty: the decoder
            owes nothing (the transposed convolutions' overlap past the last frame is
            discarded, as the causal layout trims it offline).
    """

    codes: torch.Tensor
    audio: torch.Tensor


def streamable_models() -> list[str]:
    """Names of the bundled models that can stream (their config is causal)."""
    from rvqgan.checkpoint import read_checkpoint_info
    from rvqgan.models import available_models, bundled_path

    names = []
    for name in available_models():
        try:
            if read_checkpoint_info(bundled_path(name))["config"].get("causal"):
                names.append(name)
        except (RvqganError, OSError, KeyError):
            continue
    return names


def require_causal(model: Codec) -> None:
    """Raise :class:`StreamingError` unless ``model`` is a causal :class:`Codec`."""
    if not isinstance(model, Codec):
        raise StreamingError(f"streaming needs an rvqgan Codec, got {type(model).__name__}")
    if model.is_causal:
        return
    bundled = streamable_models()
    which = (
        f"the bundled causal model(s) {', '.join(repr(n) for n in bundled)} (rvqgan.load_model({bundled[0]!r}))"
        if bundled
        else "no bundled model streams yet"
    )
    raise StreamingError(
        f"model {getattr(model, 'name', 'unnamed')!r} is not causal: its convolutions look ahead, so it "
        f"cannot code audio as it arrives. Only causal models (CodecConfig(causal=True)) stream: {which}, or "
        "a checkpoint trained with `model.causal=true`. For whole files use encode/decode, or the chunked "
        "rvqgan.inference.encode_stream/decode_stream, which work with every model."
    )


def _count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{what} must be an int >= 1, got {value!r}")
    return value


class StreamingSession:
    """The state of one stream through one causal model.

    Args:
        model: a causal :class:`Codec` (read, never modified).
        batch_size: B, items per chunk.
        channels: C, channels per item (each coded as a mono stream).
        n_quantizers: codebooks per frame from :meth:`encode_step` (default all).

    Raises:
        StreamingError: the model is not causal.
        InputError: bad ``batch_size``, ``channels`` or ``n_quantizers``.
    """

    def __init__(
        self, model: Codec, batch_size: int = 1, *, channels: int = 1, n_quantizers: int | None = None
    ) -> None:
        require_causal(model)
        self.model = model
        self.batch_size = _count(batch_size, "batch_size")
        self.channels = _count(channels, "channels")
        self.rows = self.batch_size * self.channels
        self.n_quantizers = model.quantizer.check_n_quantizers(n_quantizers)
        self.hop_length = model.hop_length
        param = next(model.parameters())
        self.device, self.dtype = param.device, param.dtype
        self._encoder = encoder_steps(model.encoder)
        self._decoder = decoder_steps(model.decoder)
        self._quantizer = QuantizerStep.of(model.quantizer)
        self._closed = False
        self.reset()

    # -- life cycle ---------------------------------------------------------------------
    def reset(self) -> None:
        """Start a new stream: every layer back to the zero state of a stream's start."""
        self._encoder_state = self._encoder.new_state(self.rows)
        self._decoder_state = self._decoder.new_state(self.rows)
        self._encoded = EncoderCounters()
        self._decoded = DecoderCounters()

    def close(self) -> None:
        """Drop the state; later steps raise :class:`StreamingError`."""
        self._closed = True
        self._encoder_state = self._decoder_state = None

    @property
    def samples_in(self) -> int:
        """Samples per row given to :meth:`encode_step` in this stream."""
        return self._encoded.samples

    @property
    def frames_out(self) -> int:
        """Code frames :meth:`encode_step` has returned in this stream."""
        return self._encoded.frames

    def _check_open(self, what: str) -> None:
        if self._closed:
            raise StreamingError(f"{what}: this streaming session is closed; open a new one with model.streaming()")

    # -- checks -------------------------------------------------------------------------
    def _audio(self, chunk: object) -> torch.Tensor:
        """A checked chunk (B, C, n) as (B * C, n, 1) in the model's dtype and device."""
        if not isinstance(chunk, torch.Tensor):
            raise InputError(f"encode_step takes a torch.Tensor of shape (B, C, n), got {type(chunk).__name__}")
        if not chunk.dtype.is_floating_point:
            raise InputError(f"encode_step takes float audio in [-1, 1], got dtype {chunk.dtype}")
        expected = (self.batch_size, self.channels)
        if chunk.dim() != 3 or tuple(chunk.shape[:2]) != expected:
            raise InputError(
                f"encode_step takes chunks of shape (B={expected[0]}, C={expected[1]}, n) as the session was "
                f"opened with, got {tuple(chunk.shape)}"
            )
        if chunk.numel() and not torch.isfinite(chunk).all():
            raise InputError(f"the chunk holds {int((~torch.isfinite(chunk)).sum())} NaN or infinite sample(s)")
        # Time-major inside the stream (see layers.py): (B, C, n) -> (B * C, n, 1).
        return chunk.to(device=self.device, dtype=self.dtype).reshape(self.rows, chunk.shape[-1], 1)

    def _codes(self, codes: object) -> torch.Tensor:
        """Checked codes (B * C, K', m) as int64 on the model's device."""
        if not isinstance(codes, torch.Tensor):
            raise InputError(f"decode_step takes a torch.Tensor of codes, got {type(codes).__name__}")
        if codes.dim() == 3 and codes.shape[0] != self.rows:
            raise InputError(
                f"decode_step takes codes of shape (B * C = {self.rows}, K, m) for this session, got "
                f"{tuple(codes.shape)}"
            )
        self.model.quantizer.check_codes(codes)
        known = self._decoded.n_codebooks
        if known is not None and codes.shape[1] != known:
            raise InputError(
                f"codes hold {codes.shape[1]} codebooks but this stream started with {known}; the number of "
                "codebooks cannot change mid-stream (flush, or open a new stream, to change it)"
            )
        self._decoded.n_codebooks = codes.shape[1]
        return codes.to(device=self.device, dtype=torch.long)

    # -- steps --------------------------------------------------------------------------
    def encode_step(self, chunk: torch.Tensor) -> torch.Tensor:
        """Feed audio; get the code frames it completes.

        Args:
            chunk (Tensor): float audio, shape (B, C, n), any n >= 0, at ``sample_rate``.

        Returns:
            Tensor: codes (B * C, n_quantizers, f), int64, where f is the number of
            frames completed by this chunk: after ``N`` samples in all, ``N // hop``
            frames have been returned.
        """
        self._check_open("encode_step")
        x = self._audio(chunk)
        self._encoded.samples += x.shape[1]
        with torch.inference_mode():
            codes = self._encode(x)
        return _plain(codes)

    def _encode(self, x: torch.Tensor) -> torch.Tensor:
        latent = self._encoder.step(x, self._encoder_state)  # (R, frames, D)
        self._encoded.frames += latent.shape[1]
        if latent.shape[1] == 0:
            return torch.zeros(self.rows, self.n_quantizers, 0, dtype=torch.long, device=self.device)
        return self._quantizer.encode(latent, self.n_quantizers)

    def decode_step(self, codes: torch.Tensor) -> torch.Tensor:
        """Feed code frames; get their audio.

        Args:
            codes (Tensor): int, shape (B * C, K', m), any m >= 0, K' <= n_codebooks,
                the same K' for the whole stream.

        Returns:
            Tensor: audio (B, C, m * hop_length), float.
        """
        self._check_open("decode_step")
        codes = self._codes(codes)
        self._decoded.used = True
        with torch.inference_mode():
            audio = self._decode(codes)
        return _plain(audio).reshape(self.batch_size, self.channels, -1)

    def _decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (R, K', m) -> audio (R, 1, m * hop)."""
        self._decoded.frames += codes.shape[-1]
        if codes.shape[-1] == 0:
            return torch.zeros(self.rows, 1, 0, dtype=self.dtype, device=self.device)
        return self._decoder.step(self._quantizer.decode(codes), self._decoder_state).transpose(1, 2)

    def flush(self) -> StreamTail:
        """End the stream: code the partial last frame and return what is still owed.

        The samples after the last whole frame are zero-padded to a frame, exactly as
        the offline ``encode`` pads the end of a signal. Afterwards the session starts a
        new stream (same batch size, channels and codebooks).
        """
        self._check_open("flush")
        with torch.inference_mode():
            codes, audio = self._tail()
        self.reset()
        return StreamTail(_plain(codes), _plain(audio).reshape(self.batch_size, self.channels, -1))

    def _tail(self) -> tuple[torch.Tensor, torch.Tensor]:
        partial = self._encoded.samples % self.hop_length
        loopback = self._decoded.used and self._decoded.frames == self._encoded.frames
        if partial:
            pad = torch.zeros(self.rows, self.hop_length - partial, 1, dtype=self.dtype, device=self.device)
            codes = self._encode(pad)
        else:
            codes = torch.zeros(self.rows, self.n_quantizers, 0, dtype=torch.long, device=self.device)
        audio = torch.zeros(self.rows, 1, 0, dtype=self.dtype, device=self.device)
        if loopback and codes.shape[-1]:
            audio = self._decode(codes[:, : self._decoded.n_codebooks or codes.shape[1]])[..., :partial]
        return codes, audio


def _plain(x: torch.Tensor) -> torch.Tensor:
    """An ordinary tensor from one made under ``torch.inference_mode`` (which the steps
    run in: it skips autograd's view and version bookkeeping, ~10 % of a frame's time),
    so callers may modify results in place or use them with autograd."""
    return x.clone() if x.is_inference() and not torch.is_inference_mode_enabled() else x


_OPEN: ContextVar[tuple[StreamingSession, ...]] = ContextVar("rvqgan_open_streams", default=())


class _OpenStream:
    """The context of :func:`streaming`: registers the session on entry, closes it on exit."""

    def __init__(self, session: StreamingSession) -> None:
        self.session = session

    def __enter__(self) -> StreamingSession:
        _refuse_nested(self.session.model)
        _OPEN.set((*_OPEN.get(), self.session))
        return self.session

    def __exit__(self, *exc: object) -> None:
        _OPEN.set(tuple(s for s in _OPEN.get() if s is not self.session))
        self.session.close()


def _refuse_nested(model: Codec) -> None:
    if any(s.model is model for s in _OPEN.get()):
        raise StreamingError(
            "this model is already streaming here (nested model.streaming()); to run two streams of one "
            "model side by side, create rvqgan.streaming.StreamingSession(model, ...) objects"
        )


def streaming(
    model: Codec, batch_size: int = 1, *, channels: int = 1, n_quantizers: int | None = None
) -> AbstractContextManager[StreamingSession]:
    """A session that ``model.encode_step`` / ``decode_step`` / ``flush`` use inside the ``with`` block.

    The checks run at once (not on entering the block), so a model that cannot stream
    fails where ``streaming()`` is called.

    Raises:
        StreamingError: the model is not causal, or already streams in this context.
        InputError: bad ``batch_size``, ``channels`` or ``n_quantizers``.
    """
    _refuse_nested(model)
    return _OpenStream(StreamingSession(model, batch_size, channels=channels, n_quantizers=n_quantizers))


def active_session(model: Codec, what: str) -> StreamingSession:
    """The session ``model.streaming()`` opened in this context, else :class:`StreamingError`."""
    for session in _OPEN.get():
        if session.model is model:
            return session
    raise StreamingError(
        f"{what} works only inside `with model.streaming(batch_size=...):` (no stream is open for this model "
        "here); the offline methods are encode/decode"
    )
