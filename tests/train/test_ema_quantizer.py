"""The EMA + k-means codebook option (EnCodec's), used by the ema_kmeans ablation."""

from __future__ import annotations

import torch

from rvqgan.quantize.ema import EMAVectorQuantizer
from rvqgan.train import build_generator, config_from_dict


def _clustered(n: int = 512, dim: int = 4, centres: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    means = 3 * torch.randn(centres, dim)
    points = means[torch.randint(0, centres, (n,))] + 0.05 * torch.randn(n, dim)
    return points, means


def test_kmeans_init_finds_the_clusters_and_codebook_is_not_trained():
    points, means = _clustered()
    vq = EMAVectorQuantizer(input_dim=4, codebook_size=32, codebook_dim=4, kmeans_iters=20)
    assert not vq.codebook.weight.requires_grad
    with torch.no_grad():  # make the projection the identity, to quantize the points themselves
        vq.in_proj.set_plain_weight(torch.eye(4)[:, :, None])
        vq.in_proj.bias.zero_()
    vq.train()
    z = points.t()[None]  # (1, 4, N)
    _, _, _, commitment, codebook_loss = vq(z)
    assert bool(vq.initialized) and torch.all(codebook_loss == 0)
    # Every true cluster centre has a code close to it.
    distance = torch.cdist(means, vq.codebook.weight).min(dim=1).values
    assert float(distance.max()) < 0.5, distance
    assert float(commitment.detach().mean()) < 0.05


def test_dead_codes_are_restarted_near_the_data():
    points, _ = _clustered()
    vq = EMAVectorQuantizer(4, 16, 4, kmeans_iters=0, dead_code_threshold=2.0)
    with torch.no_grad():
        vq.in_proj.set_plain_weight(torch.eye(4)[:, :, None])
        vq.in_proj.bias.zero_()
        vq.initialized.fill_(True)
        vq.codebook.weight.fill_(100.0)  # far from everything: all codes dead
    vq.train()
    vq(points.t()[None])
    assert float(torch.cdist(vq.codebook.weight, points).min(dim=1).values.max()) < 1.0


def test_recipe_swaps_every_codebook_and_trains():
    config = config_from_dict({"model": {"preset": "tiny_44khz"}, "quantizer": {"kind": "ema_kmeans"}})
    model = build_generator(config)
    assert all(isinstance(q, EMAVectorQuantizer) for q in model.quantizer.quantizers)
    assert len(model.quantizer.quantizers) == config.model.n_codebooks
    out = model(torch.randn(2, 1, 2048) * 0.1)
    out.audio.abs().mean().backward()
    assert all(q.codebook.weight.grad is None for q in model.quantizer.quantizers)
    assert model.quantizer.quantizers[0].in_proj.weight_v.grad is not None
