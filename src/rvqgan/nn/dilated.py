"""A dilated stride-1 convolution whose backward pass is fast on the CPU.

On the CPU, oneDNN's backward for a *dilated* 1-D convolution is several times slower than
its forward (``benchmarks/dilated_backward.py``: a k=7 convolution at dilation 3 or 9 over
12 channels and 220,500 samples, 2 threads: forward 14 ms, input gradient 58 ms, weight
gradient 51-69 ms). Both gradients can be written with fast operations instead:

* the input gradient of a stride-1 convolution is the convolution of the output gradient
  with the kernel flipped in time and transposed in channels, with the same dilation and
  the complementary padding ``(k - 1) * dilation - padding``: a forward convolution;
* the weight gradient at tap ``j`` is ``g @ x_padded[..., j*dilation : j*dilation + T']^T``
  summed over the batch: ``k`` matrix products over strided views, no copies.

Every dilated convolution of the residual units (dilations 3 and 9 in the encoder and
the decoder) runs through here when it needs gradients on the CPU: in training, and in
the encoder's search (:mod:`rvqgan.inference.refine`). The forward is ``F.conv1d`` itself,
so outputs are bitwise unchanged; gradients equal autograd's to float rounding.
``benchmarks/dilated_backward.py``, ``benchmarks/train_speed.py`` and
``benchmarks/refine_speed.py`` measure the gain (docs/training.md, docs/inference.md).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _padding_fits(weight: torch.Tensor, dilation: int, padding: int) -> bool:
    """The complementary padding of the input gradient, ``(k - 1) * dilation - padding``, is >= 0."""
    return 0 <= padding <= (weight.shape[-1] - 1) * dilation


def uses_fast_backward(x: torch.Tensor, weight: torch.Tensor, stride: int, dilation: int, padding: int) -> bool:
    """Whether :func:`dilated_conv1d` applies and pays off: a CPU convolution with gradients,
    dilation > 1, stride 1, padding within the kernel's span."""
    return (dilation > 1 and stride == 1 and _padding_fits(weight, dilation, padding)
            and x.device.type == "cpu" and torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad))


def dilated_conv1d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, padding: int,
                   dilation: int) -> torch.Tensor:
    """``F.conv1d(x, weight, bias, 1, padding, dilation)`` with the backward described above.

    Args:
        x: (B, C_in, T).
        weight: (C_out, C_in, K).
        bias: (C_out,) or ``None``.
        padding: zero padding on each side, at most ``(K - 1) * dilation``.
        dilation: the kernel's dilation.
    """
    if not _padding_fits(weight, dilation, padding):
        raise ValueError(f"padding must be in 0..(kernel - 1) * dilation, got {padding}")
    return _DilatedConv1d.apply(x, weight, bias, padding, dilation)


class _DilatedConv1d(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, padding, dilation):
        ctx.save_for_backward(x, weight)
        ctx.padding, ctx.dilation, ctx.has_bias = padding, dilation, bias is not None
        return F.conv1d(x, weight, bias, 1, padding, dilation)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        padding, dilation = ctx.padding, ctx.dilation
        kernel = weight.shape[-1]
        grad = grad.contiguous()
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            flipped = weight.flip(-1).transpose(0, 1)
            grad_x = F.conv1d(grad, flipped, None, 1, (kernel - 1) * dilation - padding, dilation)
        if ctx.needs_input_grad[1]:
            padded = F.pad(x, (padding, padding))
            frames = grad.shape[-1]
            taps = [torch.matmul(grad, padded[..., j * dilation : j * dilation + frames].transpose(1, 2)).sum(0)
                    for j in range(kernel)]
            grad_w = torch.stack(taps, dim=-1)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_b = grad.sum(dim=(0, 2))
        return grad_x, grad_w, grad_b, None, None
