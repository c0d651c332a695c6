"""Fewer multiplications for the residual units' dilated k7 convolutions: Winograd F(m, 7).

Why. The tiled CPU path (:mod:`rvqgan.nn.tiled`) runs its matrix products at about
80-85 % of this machine's rate, so the remaining lever is fewer operations. Three
quarters of the model's operations are the residual units' k7 convolutions (C -> C,
dilation 1, 3, 9), which cost 7 C^2 multiply-adds per output sample directly.

How. Winograd's minimal filtering F(m, r) computes m outputs of an r-tap correlation
from n = m + r - 1 inputs with n multiplications::

    y = A^T [ (G g) * (B^T d) ]      d: n inputs, g: r taps, y: m outputs

With channels, each of the n products is a (C_in x C_out) matrix product, so a tile of
m outputs costs n C^2 multiply-adds instead of 7 m C^2: F(4, 7) does 2.5 C^2 per
output sample (2.8x fewer), F(2, 7) 4 C^2. The input transform B^T and the output
transform A^T mix only time steps (O(n^2 C) per tile, done as one small matrix product
per tile); the filter transform G g is done once per layer, in float64, and cached.

Dilation d. Output t = d u + rho only reads inputs d (u + k) + rho - left: the signal is
d interleaved ordinary sequences. Time-major, a *super-row* of d consecutive samples is
d C contiguous floats, and the transform runs along super-rows, with the d samples of
each super-row as d more columns of every product.

The matrices come from the Toom-Cook construction in exact rational arithmetic
(:func:`toom_cook`): evaluate at n - 1 finite points and at infinity, interpolate,
transpose (the correlation is the transpose of a linear convolution). The points are
small (0, +-1, +-2, +-1/2, ...) and each of the n terms is rescaled so that the
magnitudes of G and B^T balance, which keeps float32 rounding small (the error bounds
are measured in ``tests/speed/test_fastconv.py`` and ``docs/speed.md``).
"""

from __future__ import annotations

import functools
import weakref
from fractions import Fraction

import torch

Matrix = list[list[Fraction]]

# Interpolation points (all finite; infinity is always added) per tile size m, r = 7.
# Chosen by the float32 error they give on the model's layers (docs/speed.md).
_H, _Q = Fraction(1, 2), Fraction(3, 4)
_BASE = (Fraction(0), Fraction(1), Fraction(-1), Fraction(2), Fraction(-2), _H, -_H)
POINTS: dict[int, tuple[Fraction, ...]] = {
    1: _BASE[:-1],
    2: _BASE,
    3: (*_BASE, Fraction(4)),
    4: (*_BASE, _Q, -_Q),
    5: (*_BASE, Fraction(3, 2), Fraction(-3, 2), Fraction(1, 4)),
    6: (*_BASE, Fraction(3, 2), Fraction(-3, 2), Fraction(2, 3), Fraction(-2, 3)),
}


def _vandermonde(points: tuple[Fraction, ...], columns: int) -> Matrix:
    """Rows [1, p, p^2, ...] for each finite point, then the row of infinity [0, ..., 0, 1]."""
    rows = [[p**k for k in range(columns)] for p in points]
    rows.append([Fraction(0)] * (columns - 1) + [Fraction(1)])
    return rows


def _inverse(matrix: Matrix) -> Matrix:
    """Exact inverse by Gauss-Jordan elimination over the rationals."""
    n = len(matrix)
    work = [list(row) + [Fraction(int(i == j)) for j in range(n)] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = next(r for r in range(col, n) if work[r][col] != 0)
        work[col], work[pivot] = work[pivot], work[col]
        scale = work[col][col]
        work[col] = [v / scale for v in work[col]]
        for r in range(n):
            if r != col and work[r][col] != 0:
                factor = work[r][col]
                work[r] = [a - factor * b for a, b in zip(work[r], work[col], strict=True)]
    return [row[n:] for row in work]


def _transpose(matrix: Matrix) -> Matrix:
    return [list(col) for col in zip(*matrix, strict=True)]


def toom_cook(m: int, r: int, points: tuple[Fraction, ...] | None = None) -> tuple[Matrix, Matrix, Matrix]:
    """Exact Winograd matrices (A^T, G, B^T) of F(m, r), for correlation.

    ``y[i] = sum_k d[i + k] g[k]`` (i < m, d of length n = m + r - 1) equals
    ``A^T ((G g) * (B^T d))``. A^T is (m, n), G is (n, r), B^T is (n, n).

    Construction: a linear convolution c = a * g (a of length m) is
    ``V_c^-1 ((V_g g) * (V_a a))`` with V the evaluation (Vandermonde) matrices at the
    n points; the correlation is its transpose in (a, c): A^T = V_a^T, B^T = V_c^-T.
    Then term i is rescaled (row i of G by s_i, row i of B^T by 1 / s_i, s_i a power of
    2) so that the two rows have similar magnitudes; the product is unchanged.
    """
    n = m + r - 1
    points = POINTS[m] if points is None else tuple(Fraction(p) for p in points)
    if len(points) != n - 1 or len(set(points)) != n - 1:
        raise ValueError(f"F({m}, {r}) needs {n - 1} distinct finite points, got {points}")
    at = _transpose(_vandermonde(points, m))
    g = _vandermonde(points, r)
    bt = _transpose(_inverse(_vandermonde(points, n)))
    for i in range(n):
        g_max = max(abs(v) for v in g[i])
        b_max = max(abs(v) for v in bt[i])
        # s = 2^e closest to sqrt(b_max / g_max): G row * s and B^T row / s of equal size.
        ratio = b_max / g_max
        e = 0
        while Fraction(4) ** (e + 1) <= ratio * 2:
            e += 1
        while Fraction(4) ** e > ratio * 2:
            e -= 1
        s = Fraction(2) ** e
        g[i] = [v * s for v in g[i]]
        bt[i] = [v / s for v in bt[i]]
    return at, g, bt


@functools.cache
def matrices(m: int, r: int = 7) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(A^T, G, B^T) of :func:`toom_cook` as float64 tensors (cached; do not modify)."""
    at, g, bt = toom_cook(m, r)
    as_tensor = lambda a: torch.tensor([[float(v) for v in row] for row in a], dtype=torch.float64)
    return as_tensor(at), as_tensor(g), as_tensor(bt)


def transform_filter(taps: torch.Tensor, m: int) -> torch.Tensor:
    """G g for every (input, output) channel pair: taps (r, C_in, C_out) -> (n, C_in, C_out) float32.

    Computed in float64 and rounded once.
    """
    _, g, _ = matrices(m, taps.shape[0])
    u = torch.tensordot(g, taps.detach().to(torch.float64), dims=([1], [0]))
    return u.to(taps.dtype).contiguous()


# Transformed filters, per layer, with the identity and version of the weight tensors
# they were computed from: recomputed when a weight is replaced or modified in place.
# Weak keys: the cache does not keep a layer alive and adds nothing to the module.
_FILTERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _weight_key(layer: torch.nn.Module) -> tuple:
    params = (layer.weight,) if layer.folded else (layer.weight_v, layer.weight_g)
    return tuple((p.data_ptr(), p._version, tuple(p.shape)) for p in params)


def layer_filter(layer: torch.nn.Module, m: int) -> torch.Tensor:
    """The transformed filter of a ``WNConv1d`` (k7) for F(m, 7), cached per layer and weight version."""
    key = (_weight_key(layer), m)
    per_layer = _FILTERS.setdefault(layer, {})
    cached = per_layer.get(m)
    if cached is not None and cached[0] == key:
        return cached[1]
    u = transform_filter(layer.taps(), m)
    per_layer[m] = (key, u)
    return u


# Tile size m of the Winograd path, and the narrowest layer that takes it: at 64 channels
# the direct products were as fast (the products are too small to run near the machine's
# rate), from 96 channels on F(4, 7) was 1.2-2.1x faster per residual unit, at 1 and 2
# threads (docs/speed.md). F(4, 7) keeps the float32 error below 1e-5 of the layer's
# output; larger m gained little more and doubled the error.
WINOGRAD_M = 4
WINOGRAD_MIN_CHANNELS = 96


def winograd_size(layer: torch.nn.Module) -> int | None:
    """The tile size m with which the tiled path computes ``layer`` by Winograd, or None (direct).

    Only the residual units' convolutions: k7, stride 1, C -> C, length-preserving padding.
    """
    c = layer.in_channels
    if (
        layer.kernel_size != 7
        or layer.stride != 1
        or layer.out_channels != c
        or sum(layer.padding) != 6 * layer.dilation
        or c < WINOGRAD_MIN_CHANNELS
    ):
        return None
    return WINOGRAD_M


class Workspace:
    """Scratch buffers of one layer's tiles (reused across tiles, grown as needed)."""

    def __init__(self) -> None:
        self.buffers: dict[str, torch.Tensor] = {}

    def get(self, name: str, numel: int, like: torch.Tensor) -> torch.Tensor:
        buf = self.buffers.get(name)
        if buf is None or buf.numel() < numel:
            buf = like.new_empty(numel)
            self.buffers[name] = buf
        return buf[:numel]


def winograd_tile(
    win: torch.Tensor,
    u: torch.Tensor,
    bias: torch.Tensor | None,
    m: int,
    dilation: int,
    blocks: int,
    work: Workspace,
    single_product: bool,
) -> torch.Tensor:
    """A k7 dilated convolution of one tile by F(m, 7), output in blocked order.

    Args:
        win (Tensor): the activated input rows, ((blocks * m + 6) * dilation, C_in), contiguous.
        u (Tensor): the transformed filter, (n, C_in, C_out) (:func:`layer_filter`).
        bias (Tensor | None): (C_out,).
        m, dilation: tile size and dilation.
        blocks: J, the number of output blocks of m * dilation rows.
        single_product: the n products as one ``bmm`` (several threads) or one ``mm`` each.

    Returns:
        Tensor: (m * J * d, C_out), row ((r * J + j) * d + rho) holding output time
        (j * m + r) * d + rho, i.e. (m, J, d, C_out) contiguous: the caller permutes it
        back to time order (the activation and a k1 convolution do not care about the
        order of rows).
    """
    at, bt = matrices32(m, 7)
    n, c_in, c_out = u.shape
    d = dilation
    width = d * c_in  # one super-row
    cols = blocks * width
    # Input windows, (n, J, d C): window j starts at super-row j m.
    gathered = work.get("gathered", n * cols, win).view(n, blocks, width)
    gathered.copy_(win.as_strided((n, blocks, width), (width, m * width, 1)))
    v = work.get("v", n * cols, win).view(n, cols)
    torch.mm(bt, gathered.view(n, cols), out=v)
    # n products (J d, C_in) @ (C_in, C_out); the gathered buffer is free again.
    prod = work.get("gathered", n * blocks * d * c_out, win).view(n, blocks * d, c_out)
    if single_product:
        torch.bmm(v.view(n, blocks * d, c_in), u, out=prod)
    else:
        v3 = v.view(n, blocks * d, c_in)
        for i in range(n):
            torch.mm(v3[i], u[i], out=prod[i])
    out = work.get("out", m * blocks * d * c_out, win).view(m, blocks * d * c_out)
    torch.mm(at, prod.view(n, -1), out=out)
    out = out.view(m * blocks * d, c_out)
    if bias is not None:
        out.add_(bias)
    return out


@functools.cache
def matrices32(m: int, r: int = 7) -> tuple[torch.Tensor, torch.Tensor]:
    """(A^T, B^T) as float32 tensors (cached; do not modify)."""
    at, _, bt = matrices(m, r)
    return at.to(torch.float32), bt.to(torch.float32)
