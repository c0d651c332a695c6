"""Batched inference: many files of different lengths, padded into batches, with masks.

:func:`encode_batch` and :func:`decode_batch` give, for every file, what coding it
alone gives: the codes of ``encode_long(model, audio)`` (``frames_for_length(model, T)``
frames, i.e. ``Codec.encode`` of the audio zero-padded to whole frames) and the audio
of ``decode_long(model, codes, length)``.

Why masks. Items of a batch are zero-padded on the right to the longest one. A lone
item's convolutions see zeros past its end at *every* layer (each layer pads its own
input). In a padded batch they would see the layer's activations of the padding
instead, which are not zero (biases, and the item's tail spreading through the layers),
so the last frames would change. Every layer's output is therefore reset to zero past
each item's own length at that layer (its padding mask); Snake and LeakyReLU map zero
to zero, so a masked batch computes, at every valid position, exactly the sums a lone
item computes::

    item a:  | a a a a a a | 0 0 0 0 |      after each layer: positions >= len_a(layer) := 0
    item b:  | b b b b b b   b b b b |      len(layer) follows the layer's stride/trim

Where batching pays. On a GPU a batch fills the device; that is the masked path.
On the CPU the tiled path (:mod:`rvqgan.nn.tiled`) already runs a batch one item at a
time (a tile fills the matrix products), so there items are simply run one by one,
unpadded, which is also exactly what coding them one by one computes.

Memory: a batch holds ``batch_size`` x the longest item's activations; code long files
(minutes) with :func:`~rvqgan.inference.encode_long`, whose memory does not grow.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from rvqgan.errors import InputError
from rvqgan.inference.chunked import frames_for_length
from rvqgan.model.codec import Codec
from rvqgan.nn import tiled
from rvqgan.nn.conv import WNConv1d, WNConvTranspose1d

DEFAULT_BATCH_SIZE = 16


def encode_batch(
    model: Codec,
    audios: Sequence[torch.Tensor | np.ndarray],
    *,
    n_quantizers: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    masked: bool | None = None,
) -> list[torch.Tensor]:
    """Encode many files; each channel is a mono item, items of similar length share a batch.

    Args:
        model: the codec (not modified); runs where its parameters are.
        audios: float audio [C_i, T_i] at ``model.sample_rate``, any lengths and channels.
        n_quantizers: codebooks to keep (default all).
        batch_size: items (channels) per model call.
        masked: ``None`` picks padded, masked batches unless the tiled CPU path serves
            the model (then item by item); ``True``/``False`` force either.

    Returns:
        list of Tensor: codes [C_i, n_quantizers, frames_for_length(model, T_i)], int64, CPU.
    """
    n_q = model.quantizer.check_n_quantizers(n_quantizers)
    param = next(model.parameters())
    checked = [_audio(a, i) for i, a in enumerate(audios)]
    rows = [row for audio in checked for row in audio]
    frames = [frames_for_length(model, row.shape[-1]) for row in rows]
    use_masks = _use_masks(masked, param)
    results = [torch.zeros(n_q, 0, dtype=torch.long)] * len(rows)  # kept for empty items
    with torch.no_grad():
        for group in _groups(frames, batch_size):
            hop = model.hop_length
            padded = [F.pad(rows[i].to(param.device, param.dtype), (0, frames[i] * hop - rows[i].shape[-1])) for i in group]
            if not use_masks:
                codes = [model.encode(p.view(1, 1, -1), n_q)[0] for p in padded]
            else:
                codes = _masked_encode(model, padded, n_q)
            for i, c in zip(group, codes, strict=True):
                results[i] = c[:, : frames[i]].cpu()
    return _split(results, [audio.shape[0] for audio in checked], (n_q, 0))


def decode_batch(
    model: Codec,
    codes: Sequence[torch.Tensor],
    lengths: Sequence[int | None] | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    masked: bool | None = None,
) -> list[torch.Tensor]:
    """Decode many code tensors of different lengths.

    Args:
        model: the codec (not modified).
        codes: integer codes [C_i, K, F_i]; the same K <= n_codebooks for all.
        lengths: samples to return per file (the original lengths); ``None`` (for all
            or one) returns ``decoded_length(F_i)`` samples, as ``Codec.decode``.
        batch_size: items (channels) per model call.
        masked: as in :func:`encode_batch`.

    Returns:
        list of Tensor: audio [C_i, length_i] float, CPU.

    Raises:
        InputError: codes of the wrong shape, dtype or range; a length longer than the
            codes decode to.
    """
    lengths = [None] * len(codes) if lengths is None else list(lengths)
    if len(lengths) != len(codes):
        raise InputError(f"got {len(codes)} code tensors but {len(lengths)} lengths")
    items = [_codes(c, i, codes[0]) for i, c in enumerate(codes)]
    for c in items:
        model.quantizer.check_codes(c)
    want = [_length(model, c.shape[-1], n, i) for i, (c, n) in enumerate(zip(items, lengths, strict=True))]
    rows = [(row, n) for c, n in zip(items, want, strict=True) for row in c]
    param = next(model.parameters())
    use_masks = _use_masks(masked, param)
    results = [torch.zeros(0)] * len(rows)  # kept for items without frames
    with torch.no_grad():
        for group in _groups([row.shape[-1] for row, _ in rows], batch_size):
            batch = [rows[i][0].to(param.device).long() for i in group]
            if not use_masks:
                audio = [model.decode(c[None])[0, 0] for c in batch]
            else:
                audio = _masked_decode(model, batch)
            for i, a in zip(group, audio, strict=True):
                results[i] = a[: rows[i][1]].float().cpu()
    return _split(results, [c.shape[0] for c in items], (0,))


def _use_masks(masked: bool | None, param: torch.Tensor) -> bool:
    if masked is not None:
        return masked
    with torch.no_grad():
        return not tiled.applies(param)


def _groups(sizes: list[int], batch_size: int) -> list[list[int]]:
    """Indices of non-empty items by size (longest first), cut into batches: similar lengths pad little."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"batch_size must be an int >= 1, got {batch_size!r}")
    order = sorted((i for i in range(len(sizes)) if sizes[i] > 0), key=lambda i: -sizes[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def _split(rows: list[torch.Tensor], counts: list[int], row_shape: tuple[int, ...]) -> list[torch.Tensor]:
    """Rows back into files: ``counts[i]`` rows each, stacked (files without channels: empty)."""
    out, start = [], 0
    for count in counts:
        out.append(torch.stack(rows[start : start + count]) if count else torch.zeros(0, *row_shape))
        start += count
    return out


def _audio(audio: torch.Tensor | np.ndarray, index: int) -> torch.Tensor:
    x = audio if isinstance(audio, torch.Tensor) else torch.from_numpy(np.asarray(audio))
    if x.dim() != 2 or not x.dtype.is_floating_point:
        raise InputError(f"audio {index} must be a float [C, T] array, got {x.dtype} of shape {tuple(x.shape)}")
    if x.numel() and not torch.isfinite(x).all():
        raise InputError(f"audio {index} contains NaN or Inf samples")
    return x


def _codes(codes: torch.Tensor, index: int, first: torch.Tensor) -> torch.Tensor:
    if not isinstance(codes, torch.Tensor) or codes.dim() != 3:
        got = tuple(codes.shape) if isinstance(codes, torch.Tensor) else type(codes).__name__
        raise InputError(f"codes {index} must be a tensor [C, K, frames], got {got}")
    if isinstance(first, torch.Tensor) and first.dim() == 3 and codes.shape[1] != first.shape[1]:
        raise InputError(f"codes {index} hold {codes.shape[1]} codebooks, codes 0 hold {first.shape[1]}")
    return codes


def _length(model: Codec, frames: int, length: int | None, index: int) -> int:
    available = model.decoded_length(frames)
    if length is None:
        return available
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or not 0 <= length <= available:
        raise InputError(f"length {index} must be an int in [0, {available}] for {frames} frames, got {length!r}")
    return int(length)


# -- the masked, channel-major forward ------------------------------------------------------


def _conv_length(layer: torch.nn.Module, length: torch.Tensor) -> torch.Tensor:
    """Output lengths of a convolution for input lengths ``length`` (B,)."""
    if isinstance(layer, WNConvTranspose1d):
        return ((length - 1) * layer.stride + layer.kernel_size - sum(layer.trim)).clamp(min=0)
    assert isinstance(layer, WNConv1d)
    span = layer.dilation * (layer.kernel_size - 1) + 1
    return ((length + sum(layer.padding) - span).div(layer.stride, rounding_mode="floor") + 1).clamp(min=0)


def _mask(x: torch.Tensor, length: torch.Tensor) -> torch.Tensor:
    """Zero x (B, C, T) at positions >= length[b], in place."""
    keep = torch.arange(x.shape[-1], device=x.device) < length[:, None]
    return x.masked_fill_(~keep[:, None, :], 0.0)


def _pad_batch(items: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Items [..., T_i] -> (batch [B, ..., T_max] zero-padded, lengths (B,))."""
    longest = max(x.shape[-1] for x in items)
    batch = torch.stack([F.pad(x, (0, longest - x.shape[-1])) for x in items])
    return batch, torch.tensor([x.shape[-1] for x in items], device=batch.device)


def _masked_encode(model: Codec, items: list[torch.Tensor], n_q: int) -> list[torch.Tensor]:
    """Codes of each item (whole frames of samples) from one padded, masked batch."""
    x, length = _pad_batch(items)
    enc = model.encoder
    h = enc.conv_in(x.unsqueeze(1))
    length = _conv_length(enc.conv_in, length)
    h = _mask(h, length)
    for block in enc.blocks:
        for unit in block.res:
            h = _mask(unit(h), length)
        length = _conv_length(block.down, length)
        h = _mask(block.down(block.act(h)), length)
    z = enc.conv_out(enc.act(h))
    codes = model.quantizer.encode(z, n_q)  # per frame: padded frames do not touch valid ones
    return [c[:, :n] for c, n in zip(codes, _conv_length(enc.conv_out, length).tolist(), strict=True)]


def _masked_decode(model: Codec, items: list[torch.Tensor]) -> list[torch.Tensor]:
    """Audio (decoded_length(F_i) samples) of each item [K, F_i] from one padded, masked batch."""
    codes, length = _pad_batch(items)  # padding code 0 is valid; its latent is masked below
    dec = model.decoder
    z = _mask(model.quantizer.decode(codes), length)
    length = _conv_length(dec.conv_in, length)
    h = _mask(dec.conv_in(z), length)
    for block in dec.blocks:
        length = _conv_length(block.up, length)
        h = _mask(block.up(block.act(h)), length)
        for unit in block.res:
            h = _mask(unit(h), length)
    audio = torch.tanh(dec.conv_out(dec.act(h)))[:, 0]
    return [a[:n] for a, n in zip(audio, _conv_length(dec.conv_out, length).tolist(), strict=True)]
