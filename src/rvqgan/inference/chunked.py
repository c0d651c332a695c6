"""Encode and decode audio of any length in chunks, at memory that does not grow with length.

The official DAC chunks long files by switching its convolutions' padding off and
overlapping windows, which changes the codes, repeats ~5 ms at each boundary and
returns a different length. Here a chunk is cut so that the result is the whole-file
result, and the model is only called, never modified:

* Encoding: frames ``f0..f1-1`` are computed from the input window
  ``[(f0 - left) * hop, (f1 + right) * hop)``, with ``left``/``right`` from
  :func:`encoder_context` (the encoder's reach rounded up to whole hops). Windows start
  on hop multiples, so every strided layer samples at the phase it has in the whole
  file, and the frames kept never see the window's edges. Where a window meets the
  real start or end of the signal it is cut there, so the model's own zero padding
  acts exactly as in one call.
* Decoding: samples ``f0*hop .. f1*hop-1`` are computed from the frame window
  ``[f0 - left, f1 + right)`` (:func:`decoder_context`) and cut out of its output.

The result equals ``model.encode`` / ``model.decode`` on the whole signal up to float
rounding (codes may differ only where rounding flips a near tie).

Lengths. The signal of ``T`` samples is coded as ``frames_for_length(model, T)``
frames: the fewest frames whose decoded length reaches ``T``. With even strides that
is ``ceil(T / hop)``, as ``Codec.encode`` gives. With odd strides (the 24/16 kHz
layouts, rates (2, 4, 5, 8)) the official decoder returns ``L*hop - 8`` samples for
``L`` frames, so one more frame is coded when ``T`` falls in the last 8 samples of a
hop; the codes then equal ``model.encode`` of the input zero-padded to
``frames * hop``. Decoding with ``length=T`` returns exactly ``T`` samples.

Devices and modes. Chunks run on ``device`` (default: where the model's parameters
are) and results come back on the CPU, so a long result never fills accelerator
memory. The model's train/eval mode is left as the caller set it: the encode and
decode paths hold no dropout or batch statistics, so the mode does not change them.
Gradients are off (``torch.no_grad``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator

import numpy as np
import torch

from rvqgan.errors import InputError
from rvqgan.inference.receptive import decoder_context, encoder_context
from rvqgan.inference.refine import RefineConfig, refine_codes
from rvqgan.model.codec import Codec

# Frames per chunk: ~3 s at 44.1 kHz, ~5 s at 16/24 kHz. Memory per chunk is about
# width x (chunk + context) x hop floats; the context (8-10 frames a side) costs ~7 %.
DEFAULT_CHUNK_FRAMES = 256


def frames_for_length(model: Codec, length: int) -> int:
    """Fewest frames whose decoded audio covers ``length`` samples (0 for 0)."""
    if length <= 0:
        return 0
    frames = model.n_frames(length)
    while model.decoded_length(frames) < length:
        frames += 1
    return frames


class _Timeline:
    """A stretch ``[start, end)`` of a long signal, kept as tensors along their last axis."""

    def __init__(self) -> None:
        self.parts: deque[torch.Tensor] = deque()
        self.start = 0
        self.end = 0

    def append(self, x: torch.Tensor) -> None:
        if x.shape[-1]:
            self.parts.append(x)
            self.end += x.shape[-1]

    def slice(self, a: int, b: int) -> torch.Tensor:
        """Positions ``a..b-1`` (``start <= a < b <= end``) as one tensor."""
        pieces, pos = [], self.start
        for part in self.parts:
            lo, hi = max(a, pos), min(b, pos + part.shape[-1])
            if lo < hi:
                pieces.append(part[..., lo - pos : hi - pos])
            pos += part.shape[-1]
        return pieces[0] if len(pieces) == 1 else torch.cat(pieces, dim=-1)

    def drop_before(self, pos: int) -> None:
        """Forget positions before ``pos``."""
        while self.parts and self.start + self.parts[0].shape[-1] <= pos:
            self.start += self.parts.popleft().shape[-1]
        if self.parts and pos > self.start:
            self.parts[0] = self.parts[0][..., pos - self.start :]
            self.start = pos


def _model_device_dtype(model: Codec, device: torch.device | str | None) -> tuple[torch.device, torch.dtype]:
    param = next(model.parameters())
    return (torch.device(device) if device is not None else param.device), param.dtype


def _count(value: object, what: str, minimum: int) -> int:
    """``value`` as an int >= ``minimum`` (numpy integers welcome), else :class:`InputError`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"{what} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _audio_block(block: torch.Tensor | np.ndarray, channels: int | None) -> torch.Tensor:
    """A float block [C, n] as a tensor; refuses other shapes, integer PCM and channel changes."""
    x = torch.from_numpy(np.asarray(block)) if not isinstance(block, torch.Tensor) else block
    if x.dim() != 2:
        raise InputError(f"audio blocks must have shape [C, n], got {tuple(x.shape)}")
    if not x.dtype.is_floating_point:
        raise InputError(f"audio blocks must be float (scaled to [-1, 1]), got {x.dtype}")
    if channels is not None and x.shape[0] != channels:
        raise InputError(f"audio block has {x.shape[0]} channels, earlier blocks {channels}")
    return x


def encode_stream(
    model: Codec,
    blocks: Iterable[torch.Tensor | np.ndarray],
    *,
    n_quantizers: int | None = None,
    chunk_frames: int = DEFAULT_CHUNK_FRAMES,
    device: torch.device | str | None = None,
    refine: RefineConfig | None = None,
) -> Iterator[torch.Tensor]:
    """Encode a stream of audio blocks; yields codes chunk by chunk.

    Args:
        model: the codec (not modified).
        blocks: float audio [C, n] at ``model.sample_rate``, any block lengths; channels
            are coded as a batch of C mono items.
        n_quantizers: codebooks to keep (default all).
        chunk_frames: frames computed per model call.
        device: where to run (default: the model's device).
        refine: choose each chunk's codes by encoder refinement
            (:mod:`rvqgan.inference.refine`), on the chunk's window with its context;
            ``None`` or 0 steps: the plain encode, equal to the whole-signal one.

    Yields:
        Tensor: codes [C, n_quantizers, m], int64, on the CPU; concatenated along the
        last axis they hold ``frames_for_length(model, T)`` frames for ``T`` samples.
    """
    chunk_frames = _count(chunk_frames, "chunk_frames", 1)
    n_q = model.quantizer.check_n_quantizers(n_quantizers)
    device, dtype = _model_device_dtype(model, device)
    ctx, hop = encoder_context(model), model.hop_length
    buffer, channels, next_frame = _Timeline(), None, 0

    def encode_window(first: int, last: int, end: int) -> torch.Tensor:
        """Frames first..last-1 from the window that ends at frame ``end``."""
        start = max(0, first - ctx.left)
        window = buffer.slice(start * hop, end * hop).unsqueeze(1)  # [C, 1, samples]
        codes = refine_codes(model, window, n_q, refine) if refine else model.encode(window, n_q)
        buffer.drop_before(max(0, last - ctx.left) * hop)
        return codes[..., first - start : last - start].cpu()

    with torch.no_grad():
        for block in blocks:
            x = _audio_block(block, channels)
            channels = x.shape[0]
            buffer.append(x.to(device=device, dtype=dtype))
            while buffer.end >= (next_frame + chunk_frames + ctx.right) * hop:
                last = next_frame + chunk_frames
                yield encode_window(next_frame, last, last + ctx.right)
                next_frame = last
        total = frames_for_length(model, buffer.end)
        if channels is None or total == 0:
            return
        # The real end: zero-pad to whole frames, as Codec.encode pads to a hop multiple.
        buffer.append(torch.zeros(channels, total * hop - buffer.end, device=device, dtype=dtype))
        while next_frame < total:
            last = min(total, next_frame + chunk_frames)
            yield encode_window(next_frame, last, min(total, last + ctx.right))
            next_frame = last


def _codes_chunk(codes: torch.Tensor, shape: tuple[int, int] | None) -> torch.Tensor:
    if not isinstance(codes, torch.Tensor) or codes.dim() != 3:
        got = tuple(codes.shape) if isinstance(codes, torch.Tensor) else type(codes).__name__
        raise InputError(f"code chunks must be tensors of shape [C, K, m], got {got}")
    if shape is not None and tuple(codes.shape[:2]) != shape:
        raise InputError(f"code chunk has [C, K] = {list(codes.shape[:2])}, earlier chunks {list(shape)}")
    return codes


def decode_stream(
    model: Codec,
    code_chunks: Iterable[torch.Tensor],
    *,
    length: int | None,
    chunk_frames: int = DEFAULT_CHUNK_FRAMES,
    device: torch.device | str | None = None,
) -> Iterator[torch.Tensor]:
    """Decode a stream of code chunks; yields audio chunk by chunk.

    Args:
        model: the codec (not modified).
        code_chunks: codes [C, K, m] (K <= n_codebooks), any chunk lengths.
        length: samples to return in all (the original length at the model's rate);
            ``None`` returns everything the decoder produces, ``decoded_length(frames)``
            samples, as ``Codec.decode`` does.
        chunk_frames: frames decoded per model call.
        device: where to run (default: the model's device).

    Yields:
        Tensor: audio [C, n] float on the CPU, concatenating to exactly ``length`` samples.

    Raises:
        InputError: bad chunk shapes or values, or codes too short for ``length``.
    """
    chunk_frames = _count(chunk_frames, "chunk_frames", 1)
    length = None if length is None else _count(length, "length", 0)
    device, _ = _model_device_dtype(model, device)
    ctx, hop = decoder_context(model), model.hop_length
    buffer, shape, next_frame, emitted = _Timeline(), None, 0, 0

    def decode_window(first: int, last: int, end: int, final: bool) -> torch.Tensor:
        start = max(0, first - ctx.left)
        audio = model.decode(buffer.slice(start, end))[:, 0]  # [C, decoded_length(end - start)]
        buffer.drop_before(max(0, last - ctx.left))
        offset = (first - start) * hop
        keep = audio.shape[-1] - offset if final else (last - first) * hop
        if length is not None:
            keep = min(keep, length - emitted)
        return audio[:, offset : offset + keep].cpu()

    with torch.no_grad():
        for codes in code_chunks:
            codes = _codes_chunk(codes, shape)
            shape = (codes.shape[0], codes.shape[1])
            buffer.append(codes.to(device))
            # One frame beyond the right context, so a window never ends at an odd-stride
            # layout's short tail unless it is the real end.
            while buffer.end > next_frame + chunk_frames + ctx.right:
                if length is not None and emitted >= length:
                    return  # all asked for is out; the rest of the stream is not needed
                last = next_frame + chunk_frames
                out = decode_window(next_frame, last, last + ctx.right, final=False)
                emitted, next_frame = emitted + out.shape[-1], last
                yield out
        total = buffer.end
        if length is not None and length > model.decoded_length(total):
            raise InputError(
                f"{total} frames decode to {model.decoded_length(total)} samples, fewer than length={length}; "
                "the codes are truncated or the length is wrong"
            )
        while next_frame < total and (length is None or emitted < length):
            last = min(total, next_frame + chunk_frames)
            out = decode_window(next_frame, last, min(total, last + ctx.right), final=last == total)
            emitted, next_frame = emitted + out.shape[-1], last
            yield out


def encode_long(
    model: Codec,
    audio: torch.Tensor | np.ndarray,
    *,
    n_quantizers: int | None = None,
    chunk_frames: int = DEFAULT_CHUNK_FRAMES,
    device: torch.device | str | None = None,
    refine: RefineConfig | None = None,
) -> torch.Tensor:
    """Encode audio [C, T] in chunks; returns codes [C, K, frames_for_length(model, T)] on the CPU.

    Each chunk's codes go straight into the preallocated result: beyond it and the
    input, memory does not grow with T.
    """
    x = _audio_block(audio, None)
    n_q = model.quantizer.check_n_quantizers(n_quantizers)
    step = _count(chunk_frames, "chunk_frames", 1) * model.hop_length
    blocks = (x[:, i : i + step] for i in range(0, x.shape[1], step))  # views, no copies
    shape = (x.shape[0], n_q, frames_for_length(model, x.shape[1]))
    chunks = encode_stream(model, blocks, n_quantizers=n_q, chunk_frames=chunk_frames, device=device, refine=refine)
    return _fill(shape, chunks, empty_dtype=torch.long)


def _fill(shape: tuple[int, ...], chunks, empty_dtype: torch.dtype) -> torch.Tensor:
    """Copy chunks along the last axis into one tensor of ``shape`` (allocated at the first
    chunk, with its dtype; ``empty_dtype`` when there is none), which they must fill exactly."""
    out, pos = None, 0
    for chunk in chunks:
        if out is None:
            out = torch.empty(shape, dtype=chunk.dtype)
        n = chunk.shape[-1]
        if pos + n > shape[-1]:
            raise RuntimeError(f"chunked inference produced more than the {shape[-1]} steps expected")
        out[..., pos : pos + n] = chunk
        pos += n
    if pos != shape[-1]:
        raise RuntimeError(f"chunked inference produced {pos} steps, expected {shape[-1]}")
    return out if out is not None else torch.zeros(shape, dtype=empty_dtype)


def decode_long(
    model: Codec,
    codes: torch.Tensor,
    length: int | None = None,
    *,
    chunk_frames: int = DEFAULT_CHUNK_FRAMES,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Decode codes [C, K, frames] in chunks; returns audio [C, length] on the CPU
    (``length`` defaults to what the frames decode to).

    Each chunk's audio goes straight into the preallocated result: beyond it, memory
    does not grow with the number of frames.
    """
    codes = _codes_chunk(codes, None)
    step = _count(chunk_frames, "chunk_frames", 1)
    total = codes.shape[-1]
    pieces = (codes[..., i : i + step] for i in range(0, total, step))
    chunks = decode_stream(model, pieces, length=length, chunk_frames=chunk_frames, device=device)
    size = model.decoded_length(total) if length is None else length
    return _fill((codes.shape[0], size), chunks, empty_dtype=torch.float32)
