"""Time-major, tiled CPU inference through the generator's layers.

Why. On a CPU the reference forward (one torch call per layer over the whole signal,
channel-major) is held back by memory traffic more than by arithmetic: Snake makes
five passes over a full (C, T) tensor, each allocating a new one, and a full tensor of a
few seconds is far larger than the caches. On the 44.1 kHz model these passes were
~30 % of the decode time, and elementwise work on a cache-sized tile runs ~10x faster
than on a whole signal (``docs/speed.md``).

How. Each item's signal is time-major, (T, C), so a stretch of time steps is a block of
contiguous rows. Every layer is computed tile by tile along time: the tile's input
rows, with the halo its kernel needs, go through the activation into a small scratch
buffer that stays in cache, and the convolution is a few matrix products of that buffer
with the kernel's taps, accumulated straight into the output rows::

    conv, K taps, dilation d, stride 1:  out[t] = b + sum_k a[t - left + k*d] @ W_k
    conv, K = 2s taps, stride s:         with a as rows of s samples (s*C wide),
                                         out[t] = b + A[t] @ W_lo + A[t+1] @ W_hi
    transposed conv, K = 2s, stride s:   output m*s + j = b + a[m] @ W_j + a[m-1] @ W_(s+j)
    residual unit:                       out = x + b2 + act2(conv1(act1(x))) @ W2, one pass a tile

where ``a = act(x)`` with zeros outside the signal (the modules pad after their
activation). Only a layer's input and output ever span the whole signal. The products
are the convolutions' sums in another order, so outputs match the reference to float
rounding (~1e-6 relative); the activation uses the reference's own operations and is
bitwise identical.

The taps W_k are the layers' ``taps()``: views of a folded weight, which
``fold_weight_norm`` lays out that way (an unfolded layer computes them on each call,
~0.3 s for the whole 44.1 kHz decoder). Batches run item by item: a CPU gains nothing
from batching once a tile fills the matrix products.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from rvqgan.nn import fastconv
from rvqgan.nn.conv import WNConv1d, WNConvTranspose1d
from rvqgan.nn.snake import Snake

# Floats in one scratch tile on one thread: 512 KiB, half of a per-core L2 cache. With
# several threads every torch call forks and joins the thread team, and on a loaded
# machine a descheduled thread stalls each join, so there tiles are 8x larger (4 MiB,
# still within L3) and a convolution's taps are gathered into one product (im2col)
# instead of one product per tap: fewer, larger calls (docs/speed.md).
TILE_ELEMENTS = 1 << 17
PARALLEL_TILE_ELEMENTS = 1 << 20
# Below this many rows a product runs far from the machine's rate, and wide layers
# would re-read their weights once per tile.
MIN_TILE_ROWS = 256
# Winograd path (rvqgan.nn.fastconv): rows of each of its n products per tile (J d), measured
# best at 256-512 for 96..768 channels on one and two threads (docs/speed.md).
WINOGRAD_PRODUCT_ROWS = 384
# Whether residual units take the Winograd path where it is faster (``residual_unit(fast=None)``
# reads this). Opt out with the environment variable RVQGAN_FASTCONV=0, or pass fast=False.
FAST_CONV = os.environ.get("RVQGAN_FASTCONV", "1") != "0"
# Below this many channels a block's matrix products are too thin for tiles to pay: the
# channel-major reference layers are faster (measured on the default model's last decoder
# block, 6 channels at 44.1 kHz: 0.40 s reference against 0.75 s tiled per 10 s of audio;
# at 12 channels tiled wins, 0.27 s against 0.67 s).
MIN_TILED_CHANNELS = 8


def channel_major(module: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Run a reference (channel-major) module on a time-major item: x (L, C) -> (L', C')."""
    return module(x.t().unsqueeze(0))[0].t().contiguous()


def applies(x: torch.Tensor) -> bool:
    """Whether the tiled path serves ``x``: float32 on the CPU, autograd and autocast off."""
    return (
        x.device.type == "cpu"
        and x.dtype == torch.float32
        and not torch.is_grad_enabled()
        and not torch.is_autocast_enabled("cpu")
    )


def parallel() -> bool:
    """Whether torch runs several intra-op threads (see the tile constants)."""
    return torch.get_num_threads() > 1


def tile_rows(width: int) -> int:
    """Time steps per tile for rows ``width`` floats wide."""
    elements = PARALLEL_TILE_ELEMENTS if parallel() else TILE_ELEMENTS
    return max(MIN_TILE_ROWS, elements // max(width, 1))


def per_item(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Run a time-major function on each item of a channel-major batch.

    Args:
        fn: maps (T, C) to (T', C').
        x (Tensor): shape (B, C, T).

    Returns:
        Tensor: shape (B, C', T'), contiguous.
    """
    outs = [fn(item.t().contiguous()) for item in x]
    return torch.stack([out.t() for out in outs])


def activate(act: nn.Module | None, src: torch.Tensor, dst: torch.Tensor) -> None:
    """``dst = act(src)`` for time-major rows (n, C); ``act`` is Snake, LeakyReLU or None."""
    if act is None:
        dst.copy_(src)
    elif isinstance(act, Snake):
        # The reference's operations in the same order, in place: bitwise identical.
        alpha, inverse = act.channel_params()
        torch.mul(src, alpha, out=dst)
        dst.sin_()
        dst.square_()
        dst.mul_(inverse)
        dst.add_(src)
    elif isinstance(act, nn.LeakyReLU):
        dst.copy_(src)
        F.leaky_relu_(dst, act.negative_slope)
    else:
        dst.copy_(act(src))


def _window(x: torch.Tensor, act: nn.Module | None, start: int, length: int, scratch: torch.Tensor) -> torch.Tensor:
    """``act(x)[start : start + length]`` in ``scratch``, zeros where the rows fall outside ``x``."""
    buf = scratch[:length]
    lo, hi = max(start, 0), min(start + length, x.shape[0])
    if lo >= hi:
        return buf.zero_()
    if lo > start:
        buf[: lo - start].zero_()
    if hi < start + length:
        buf[hi - start :].zero_()
    activate(act, x[lo:hi], buf[lo - start : hi - start])
    return buf


def _products(
    out: torch.Tensor, bias: torch.Tensor | None, win: torch.Tensor, taps: torch.Tensor, step: int
) -> None:
    """``out = bias + sum_g win[g*step : g*step + n] @ taps[g]``, n = rows of ``out``.

    Args:
        out (Tensor): (n, C_out), written in place.
        win (Tensor): (n + (G-1)*step, W) contiguous rows.
        taps (Tensor): (G, W, C_out) contiguous.

    One thread: the bias is copied in and each product accumulated with ``addmm_``
    (measured ~1.8x faster per call than ``addmm(bias, ...)``). Several threads: the
    shifted windows are gathered into one (n, G*W) matrix and multiplied once.
    """
    n, groups, width = out.shape[0], taps.shape[0], win.shape[1]
    if bias is None:
        out.zero_()
    else:
        out.copy_(bias.expand_as(out))
    if groups > 1 and parallel():
        gathered = win.as_strided((n, groups, width), (width, step * width, 1)).reshape(n, groups * width)
        out.addmm_(gathered, taps.view(groups * width, -1))
        return
    for g in range(groups):
        out.addmm_(win[g * step : g * step + n], taps[g])


def conv_supported(layer: WNConv1d) -> bool:
    """Stride 1 with any kernel and dilation, or stride s with a kernel that is a multiple of s."""
    return layer.stride == 1 or (layer.dilation == 1 and layer.kernel_size % layer.stride == 0)


def conv(x: torch.Tensor, layer: WNConv1d, act: nn.Module | None = None) -> torch.Tensor:
    """``layer(act(x))`` time-major: x (T, C_in) -> (T_out, C_out), as the module with its padding."""
    if not conv_supported(layer):
        return _reference(lambda y: layer(act(y) if act is not None else y), x)
    length, c_in = x.shape
    k, s, d = layer.kernel_size, layer.stride, layer.dilation
    left, right = layer.padding
    t_out = (length + left + right - d * (k - 1) - 1) // s + 1
    groups, step = k // s, (d if s == 1 else 1)  # taps per product, row offset between them
    taps = layer.taps().view(groups, s * c_in, -1)  # (groups, s*C_in, C_out): s taps per product
    out = x.new_empty(max(t_out, 0), taps.shape[-1])
    n_tile = tile_rows(max(s * c_in, taps.shape[-1]))
    halo = (groups - 1) * step
    scratch = x.new_empty((min(n_tile, max(t_out, 1)) + halo) * s, c_in)
    for t0 in range(0, t_out, n_tile):
        n = min(n_tile, t_out - t0)
        rows = n + halo
        win = _window(x, act, t0 * s - left, rows * s, scratch).view(rows, s * c_in)
        _products(out[t0 : t0 + n], layer.bias, win, taps, step)
    return out


def conv_transpose(x: torch.Tensor, layer: WNConvTranspose1d, act: nn.Module | None = None) -> torch.Tensor:
    """``layer(act(x))`` time-major: x (L, C_in) -> ((L + 1) * s - trims, C_out); kernel 2s."""
    s = layer.stride
    if layer.kernel_size != 2 * s:
        return _reference(lambda y: layer(act(y) if act is not None else y), x)
    length, c_in = x.shape
    taps = layer.taps()  # (2s, C_in, C_out)
    c_out = taps.shape[-1]
    full = x.new_empty(length + 1, s, c_out)  # block m holds outputs m*s .. m*s + s - 1
    n_tile = tile_rows(max(c_in, s * c_out))
    scratch = x.new_empty(min(n_tile, length + 1) + 1, c_in)
    for m0 in range(0, length + 1, n_tile):
        m1 = min(length + 1, m0 + n_tile)
        a0, a1 = max(m0 - 1, 0), min(m1, length)  # input rows this tile reads
        win = scratch[: a1 - a0]
        activate(act, x[a0:a1], win)
        y = full[m0:m1]
        if layer.bias is None:
            y.zero_()
        else:
            y.copy_(layer.bias.expand_as(y))
        first = max(m0, 1)
        for j in range(s):  # y[:, j] is a strided matrix (row stride s*C_out): BLAS writes it in place
            if a1 > m0:  # blocks m0..a1-1 from a[m]
                y[: a1 - m0, j].addmm_(win[m0 - a0 : a1 - a0], taps[j])
            if m1 > first:  # blocks first..m1-1 from a[m-1]
                y[first - m0 :, j].addmm_(win[first - 1 - a0 : m1 - 1 - a0], taps[s + j])
    left, right = layer.trim
    samples = full.view((length + 1) * s, c_out)
    return samples[left : samples.shape[0] - right]


def residual_unit(
    x: torch.Tensor, unit: nn.Module, out: torch.Tensor | None = None, fast: bool | None = None
) -> torch.Tensor:
    """A :class:`~rvqgan.nn.ResidualUnit` time-major, one pass per tile: x (T, C) -> ``out`` (T, C).

    ``out`` (optional, not ``x``) is written and returned; the hidden signal never leaves the tile.
    ``fast``: compute the k7 convolution by Winograd F(m, 7) where that is faster
    (:func:`rvqgan.nn.fastconv.winograd_size`); None reads :data:`FAST_CONV`. False gives
    the direct products (the reference's sums in another order).
    """
    conv1, conv2 = unit.conv1, unit.conv2
    if not (conv_supported(conv1) and conv1.stride == 1 and conv2.kernel_size == 1 and conv2.stride == 1):
        return _reference(unit, x)
    length, channels = x.shape
    out = torch.empty_like(x) if out is None else out
    if FAST_CONV if fast is None else fast:
        m = fastconv.winograd_size(conv1)
        if m is not None:
            return _residual_unit_winograd(x, unit, out, m)
    left, right = conv1.padding
    d = conv1.dilation
    taps1, taps2 = conv1.taps(), conv2.taps()[0]
    n_tile = min(tile_rows(channels), max(length, 1))
    scratch = x.new_empty(n_tile + left + right, channels)
    hidden, activated = x.new_empty(n_tile, channels), x.new_empty(n_tile, channels)
    for t0 in range(0, length, n_tile):
        n = min(n_tile, length - t0)
        win = _window(x, unit.act1, t0 - left, n + left + right, scratch)
        h, a, o = hidden[:n], activated[:n], out[t0 : t0 + n]
        _products(h, conv1.bias, win, taps1, d)
        activate(unit.act2, h, a)
        if conv2.bias is None:
            o.copy_(x[t0 : t0 + n])
        else:
            torch.add(x[t0 : t0 + n], conv2.bias, out=o)
        o.addmm_(a, taps2)
    return out


def _residual_unit_winograd(x: torch.Tensor, unit: nn.Module, out: torch.Tensor, m: int) -> torch.Tensor:
    """:func:`residual_unit` with its k7 convolution by Winograd F(m, 7) (:mod:`rvqgan.nn.fastconv`).

    A tile is J blocks of m * d rows (d the dilation). The convolution's output comes back
    in blocked row order (m, J, d, C); the activation and the k1 convolution run in that
    order, and the sum with the skip puts the rows back in time order.
    """
    conv1, conv2 = unit.conv1, unit.conv2
    length, channels = x.shape
    d = conv1.dilation
    left = conv1.padding[0]
    halo = 6 * d
    block = m * d
    u = fastconv.layer_filter(conv1, m)
    taps2 = conv2.taps()[0]
    blocks_total = -(-length // block)
    # Each of the n products has J d rows: as many as a direct tile has (tile_rows).
    blocks_tile = min(max(WINOGRAD_PRODUCT_ROWS // d, 1), blocks_total)
    n_tile = blocks_tile * block
    scratch = x.new_empty(n_tile + halo, channels)
    activated, product = x.new_empty(n_tile, channels), x.new_empty(n_tile, channels)
    work = fastconv.Workspace()
    several = parallel()
    for t0 in range(0, length, n_tile):
        n = min(n_tile, length - t0)
        blocks = -(-n // block)
        rows = blocks * block
        win = _window(x, unit.act1, t0 - left, rows + halo, scratch)
        h = fastconv.winograd_tile(win, u, conv1.bias, m, d, blocks, work, several)
        a, g = activated[:rows], product[:rows]
        activate(unit.act2, h, a)
        torch.mm(a, taps2, out=g)
        g_time = g.view(m, blocks, d, channels).transpose(0, 1)  # (J, m, d, C): time order
        o = out[t0 : t0 + n]
        if rows == n:
            torch.add(x[t0 : t0 + n].view(blocks, m, d, channels), g_time, out=o.view(blocks, m, d, channels))
        else:  # the last tile's blocks run past the signal
            ordered = a.view(blocks, m, d, channels)
            ordered.copy_(g_time)
            torch.add(x[t0 : t0 + n], a[:n], out=o)
        if conv2.bias is not None:
            o.add_(conv2.bias)
    return out


def _reference(module: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Fallback for a layout the tiled kernels do not cover: the module itself, channel-major."""
    return module(x.t().unsqueeze(0))[0].t().contiguous()
