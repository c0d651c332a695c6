"""Properties of the factorized, L2-normalized residual VQ."""

from __future__ import annotations

import torch

from rvqgan.quantize import ResidualVectorQuantizer, VectorQuantizer


def test_straight_through_gradient_is_exactly_identity() -> None:
    """Backward through the look-up is the identity: the VQ's gradient equals in_proj -> out_proj's."""
    torch.manual_seed(0)
    vq = VectorQuantizer(input_dim=6, codebook_size=16, codebook_dim=3)
    z = torch.randn(2, 6, 5, requires_grad=True)
    weight = torch.randn(2, 6, 5)
    z_q, *_ = vq(z)
    (z_q * weight).sum().backward()
    grad_vq = z.grad.clone()
    z.grad = None
    (vq.out_proj(vq.in_proj(z)) * weight).sum().backward()
    assert torch.equal(grad_vq, z.grad)


def test_lookup_is_nearest_by_cosine() -> None:
    torch.manual_seed(0)
    vq = VectorQuantizer(input_dim=4, codebook_size=32, codebook_dim=3)
    z_e = torch.randn(1, 3, 50)
    codes = vq.lookup(z_e)
    e = torch.nn.functional.normalize(z_e[0].t(), dim=-1)
    c = torch.nn.functional.normalize(vq.codebook.weight, dim=-1)
    brute = torch.cdist(e, c).argmin(dim=-1)
    assert torch.equal(codes[0], brute)


def test_quantizer_dropout_uses_first_codebooks_only() -> None:
    torch.manual_seed(0)
    rvq = ResidualVectorQuantizer(input_dim=8, n_codebooks=5, codebook_size=32, codebook_dim=4, dropout=1.0).train()
    z = torch.randn(64, 8, 7)
    out = rvq(z)
    n = out.n_quantizers
    assert n.min() >= 1 and n.max() <= 5 and len(set(n.tolist())) > 1
    for i in range(z.shape[0]):
        expected = rvq.decode(out.codes[i : i + 1, : int(n[i])])
        torch.testing.assert_close(out.z_q[i : i + 1], expected, rtol=0, atol=1e-5)


def test_quantizer_dropout_fraction() -> None:
    rvq = ResidualVectorQuantizer(input_dim=8, n_codebooks=9, codebook_size=16, codebook_dim=4, dropout=0.5).train()
    torch.manual_seed(3)
    n = rvq.sample_n_quantizers(12, torch.device("cpu"))
    assert (n[6:] == 9).all()
    assert ((n[:6] >= 1) & (n[:6] <= 9)).all()
    assert rvq.eval()(torch.randn(12, 8, 3)).n_quantizers.tolist() == [9] * 12


def test_losses_match_definition() -> None:
    torch.manual_seed(0)
    vq = VectorQuantizer(input_dim=6, codebook_size=16, codebook_dim=3)
    z = torch.randn(2, 6, 5)
    _, codes, z_e, commitment, codebook = vq(z)
    z_q = vq.embed(codes)
    expected = ((z_e - z_q) ** 2).mean(dim=(1, 2))
    torch.testing.assert_close(commitment, expected)
    torch.testing.assert_close(codebook, expected)


def test_encode_matches_training_forward_codes() -> None:
    torch.manual_seed(0)
    rvq = ResidualVectorQuantizer(input_dim=8, n_codebooks=4, codebook_size=64, codebook_dim=4).eval()
    z = torch.randn(3, 8, 40)
    assert torch.equal(rvq.encode(z), rvq(z).codes)
    assert torch.equal(rvq.encode(z, 2), rvq(z, 2).codes)
