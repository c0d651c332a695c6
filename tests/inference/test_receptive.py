"""The reach computed from the layers equals the reach a perturbation shows."""

from __future__ import annotations

import bisect
import copy

import pytest
import torch
from torch import nn

from rvqgan.errors import InputError
from rvqgan.inference import decoder_context, encoder_context
from rvqgan.inference.receptive import layers, reach
from tests.inference.helpers import tiny_codec

LAYOUTS = [("tiny_44khz", False), ("dac_16khz", False), ("tiny_44khz", True), ("dac_16khz", True)]


def _float64_codec(layout: str, causal: bool):
    # Float64, so that the faint influence of a kernel's outermost taps is not rounded away.
    return copy.deepcopy(tiny_codec(layout, causal=causal)).double()


@pytest.mark.parametrize(("layout", "causal"), LAYOUTS)
def test_encoder_reach_matches_perturbation(layout: str, causal: bool) -> None:
    model = _float64_codec(layout, causal)
    hop, frames = model.hop_length, 40
    x = torch.randn(1, 1, frames * hop, dtype=torch.float64)
    p = 20 * hop + 137  # one sample, far from both ends
    x2 = x.clone()
    x2[..., p] += 1.0
    with torch.no_grad():
        changed = (model.encoder(x) != model.encoder(x2)).any(dim=1)[0].nonzero().flatten().tolist()
    lo, hi = reach(model.encoder, 0, 0)
    predicted = [f for f in range(frames) if f * hop + lo <= p <= f * hop + hi]
    assert changed == predicted  # sound (nothing outside) and tight (every predicted frame moves)


@pytest.mark.parametrize(("layout", "causal"), LAYOUTS)
def test_decoder_reach_matches_perturbation(layout: str, causal: bool) -> None:
    model = _float64_codec(layout, causal)
    frames, j = 50, 20
    z = torch.randn(1, model.config.latent_channels, frames, dtype=torch.float64)
    z2 = z.clone()
    z2[..., j] += 1.0
    with torch.no_grad():
        changed = (model.decoder(z) != model.decoder(z2))[0, 0].nonzero().flatten()
    # The samples whose reach holds frame j: reach bounds grow with the sample index.
    samples = range(model.decoded_length(frames))
    first = bisect.bisect_left(samples, j, key=lambda o: reach(model.decoder, o, o)[1])
    last = bisect.bisect_right(samples, j, key=lambda o: reach(model.decoder, o, o)[0]) - 1
    assert first <= int(changed.min()) and int(changed.max()) <= last  # sound
    # Tight: the outermost taps reach the predicted edges (a sample may round to no change).
    assert int(changed.min()) - first <= 2 and last - int(changed.max()) <= 2
    assert len(changed) >= (last - first + 1) - 4


def test_contexts_of_the_paper_layout() -> None:
    # A few frames each side: the reach of the k7 convs and dilated units, in hops.
    model = tiny_codec("tiny_44khz")
    enc, dec = encoder_context(model), decoder_context(model)
    assert 4 <= enc.left <= 12 and 4 <= enc.right <= 12
    assert 4 <= dec.left <= 12 and 4 <= dec.right <= 12
    causal = tiny_codec("tiny_44khz", causal=True)
    assert encoder_context(causal).right == 0 and decoder_context(causal).right == 0


def test_layers_walk_every_convolution() -> None:
    model = tiny_codec("tiny_44khz")
    # conv_in + 4 blocks x (3 units x 2 convs + down) + conv_out
    assert len(layers(model.encoder)) == 1 + 4 * 7 + 1
    assert sum(layer.transposed for layer in layers(model.decoder)) == 4


def test_unknown_temporal_layer_is_refused() -> None:
    with pytest.raises(InputError, match="reach"):
        layers(nn.Sequential(nn.MaxPool1d(3)))
