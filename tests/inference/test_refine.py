"""Encoder refinement: ordinary codes, never a worse objective, a real gain with real weights."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import rvqgan
from rvqgan.audio import read_audio
from rvqgan.bitstream import read_rvq
from rvqgan.errors import InputError
from rvqgan.inference import RefineConfig, encode_long, refine_codes
from rvqgan.inference.refine import _objective
from rvqgan.losses import MelLoss
from rvqgan.losses.waveform import si_sdr
from rvqgan.model import Codec
from tests.conftest import REAL_CLIP, randomize, tiny_config


def _score(model, codes, audio, config: RefineConfig | None = None):
    config = config or RefineConfig()
    mel = MelLoss(model.sample_rate)
    with torch.no_grad():
        target = model.pad_to_hop(audio)
        return _objective(model, mel, model.quantizer.decode(codes), target, config)


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return randomize(Codec(tiny_config())).eval()


def test_zero_steps_is_the_plain_encode_and_the_model_is_left_as_it_was(tiny):
    audio = torch.randn(2, 1, 3000) * 0.1
    assert torch.equal(refine_codes(tiny, audio, 3, RefineConfig(steps=0)), tiny.encode(audio, 3))
    tiny.train()
    codes = refine_codes(tiny, audio, 3, RefineConfig(steps=3))
    assert tiny.training and all(p.requires_grad for p in tiny.parameters()) and all(p.grad is None for p in tiny.parameters())
    tiny.eval()
    assert codes.shape == tiny.encode(audio, 3).shape and codes.dtype == torch.long
    assert int(codes.max()) < tiny.codebook_size and int(codes.min()) >= 0


def test_refinement_never_makes_an_item_worse(tiny):
    audio = torch.randn(3, 1, 4000) * 0.1
    plain = tiny.encode(audio, 4)
    # a wild step size, the default, and an objective with the SI-SDR term
    for config in (RefineConfig(steps=2, lr=5.0), RefineConfig(steps=5), RefineConfig(steps=5, sisdr_weight=0.3),
                   RefineConfig(steps=5, sisdr_weight=0.3, mel_weight=0.0)):
        refined = refine_codes(tiny, audio, 4, config)
        assert torch.all(_score(tiny, refined, audio, config) <= _score(tiny, plain, audio, config))


def test_more_steps_never_give_a_worse_objective(tiny):
    """Each item keeps the best codes its search has passed through, so with a step size that
    overshoots, a longer search (the same path, further) still scores at least as well."""
    audio = torch.randn(3, 1, 4000) * 0.1
    config = RefineConfig(steps=1, lr=5.0, sisdr_weight=0.3)
    scores = [_score(tiny, refine_codes(tiny, audio, 4, RefineConfig(steps=k, lr=5.0, sisdr_weight=0.3)), audio, config)
              for k in range(5)]
    for shorter, longer in itertools.pairwise(scores):
        assert torch.all(longer <= shorter + 1e-5 * shorter.abs())
    assert torch.any(scores[-1] < scores[0])


def test_with_the_bundled_weights_the_decoded_audio_comes_closer():
    model = rvqgan.load_model()
    x, _ = read_audio(REAL_CLIP, model.sample_rate)
    audio = torch.from_numpy(x[:1, 22050:44100].copy())[None]  # 0.5 s, mono
    plain = model.encode(audio, 9)
    refined = refine_codes(model, audio, 9, RefineConfig(steps=8))
    assert (refined != plain).float().mean() > 0.05  # it searched
    assert _score(model, refined, audio) < 0.97 * _score(model, plain, audio)
    # The SI-SDR term buys a waveform closer to the input's (13.1 -> 14.6 -> 15.3 dB here).
    toward_waveform = refine_codes(model, audio, 9, RefineConfig(steps=8, sisdr_weight=0.3))
    with torch.no_grad():
        gains = [float(si_sdr(model.decode(c)[..., : audio.shape[-1]], audio)) for c in (plain, refined, toward_waveform)]
    assert gains[0] < gains[1] < gains[2] - 0.3


def test_compress_with_refinement_writes_the_chunked_search_codes(tiny, tmp_path):
    import soundfile as sf

    from rvqgan.checkpoint import save_model

    rate = tiny.sample_rate
    audio = (0.1 * np.random.default_rng(0).standard_normal((2, rate // 2))).astype(np.float32)
    sf.write(tmp_path / "in.wav", audio.T, rate, subtype="FLOAT")
    save_model(tiny, tmp_path / "tiny.safetensors", name="tiny")
    model = rvqgan.load_model(tmp_path / "tiny.safetensors")
    rvqgan.compress(model, tmp_path / "in.wav", tmp_path / "r.rvq", 3, refine_steps=3)
    _, codes, _ = read_rvq(tmp_path / "r.rvq")
    expected = encode_long(model, audio, n_quantizers=3, refine=RefineConfig(steps=3))
    assert np.array_equal(codes, expected.numpy())
    assert not np.array_equal(codes, encode_long(model, audio, n_quantizers=3).numpy())
    rvqgan.decompress(tmp_path / "r.rvq", tmp_path / "r.wav", model=model)
    assert sf.info(tmp_path / "r.wav").frames == audio.shape[1]
    with pytest.raises(InputError, match="refinement"):
        rvqgan.compress(model, tmp_path / "in.wav", tmp_path / "bad.rvq", 3, refine_steps=-1)
    with pytest.raises(InputError, match="refine_steps"):  # an SI-SDR weight with no search to weight
        rvqgan.compress(model, tmp_path / "in.wav", tmp_path / "bad.rvq", 3, refine_sisdr=0.3)
    assert not (tmp_path / "bad.rvq").exists()
    # The SI-SDR term is part of the search: other codes, the ones encode_long makes with it.
    rvqgan.compress(model, tmp_path / "in.wav", tmp_path / "s.rvq", 3, refine_steps=3, refine_sisdr=0.3)
    config = RefineConfig(steps=3, sisdr_weight=0.3)
    assert np.array_equal(read_rvq(tmp_path / "s.rvq")[1], encode_long(model, audio, n_quantizers=3, refine=config).numpy())
    # So is the learning rate: compress passes it on, and it changes the search.
    rvqgan.compress(model, tmp_path / "in.wav", tmp_path / "l.rvq", 3, refine_steps=3, refine_lr=0.3)
    fast = encode_long(model, audio, n_quantizers=3, refine=RefineConfig(steps=3, lr=0.3)).numpy()
    assert np.array_equal(read_rvq(tmp_path / "l.rvq")[1], fast) and not np.array_equal(fast, expected.numpy())
    with pytest.raises(InputError, match="refine_steps"):  # a learning rate with no search
        rvqgan.compress(model, tmp_path / "in.wav", tmp_path / "bad.rvq", 3, refine_lr=0.2)
    with pytest.raises(InputError, match="refinement"):
        rvqgan.compress(model, tmp_path / "in.wav", tmp_path / "bad.rvq", 3, refine_steps=3, refine_lr=0.0)
    assert not (tmp_path / "bad.rvq").exists()


def test_bad_settings_are_refused():
    for bad in ({"steps": -1}, {"lr": 0.0}, {"waveform_weight": -1.0}, {"sisdr_weight": -0.1}, {"sisdr_weight": float("nan")},
                {"mel_weight": -1.0}, {"mel_weight": float("nan")}, {"waveform_weight": 0.0, "mel_weight": 0.0}):
        with pytest.raises(InputError, match="refinement"):
            RefineConfig(**bad)


def test_without_the_mel_term_the_objective_is_the_waveform_terms_alone(tiny):
    audio = torch.randn(2, 1, 3000) * 0.1
    codes = tiny.encode(audio, 3)
    config = RefineConfig(steps=2, sisdr_weight=0.3, mel_weight=0.0)
    with torch.no_grad():
        target = tiny.pad_to_hop(audio)
        decoded = tiny.decode(codes)[..., : target.shape[-1]]
        # no mel module at all: the term is not computed
        score = _objective(tiny, None, tiny.quantizer.decode(codes), target, config)
    expected = config.waveform_weight * (decoded - target).abs().mean(dim=(1, 2)) - 0.3 * si_sdr(decoded, target)
    torch.testing.assert_close(score, expected)
    halved = _score(tiny, codes, audio, RefineConfig(mel_weight=0.5))
    full, no_mel = _score(tiny, codes, audio, RefineConfig()), _score(tiny, codes, audio, RefineConfig(mel_weight=0.0))
    torch.testing.assert_close(halved, (full + no_mel) / 2)


def test_quality_presets_pick_a_search_per_bitrate():
    from types import SimpleNamespace

    from rvqgan.cli.common import QUALITIES as CLI_QUALITIES
    from rvqgan.inference import QUALITIES, DefaultQuality, default_quality, encoder_search, quality_preset, search_for

    nine = SimpleNamespace(n_codebooks=9, name="default")  # what search_for reads of a model
    other = SimpleNamespace(n_codebooks=9, name="official-dac-44khz")
    assert CLI_QUALITIES == QUALITIES
    fast, realtime, best = (quality_preset(name) for name in QUALITIES)
    assert search_for(fast, 9, nine) is None and search_for(fast, 3, nine) is None
    # Full bitrate: toward the waveform (SI-SDR, no mel); fewer codebooks: mel alone.
    full, reduced = search_for(realtime, 9, nine), search_for(realtime, 7, nine)
    assert full.sisdr_weight > 0 and full.mel_weight == 0 and reduced.sisdr_weight == 0 and reduced.mel_weight > 0
    assert all(search_for(best, n, nine).steps > search_for(realtime, n, nine).steps for n in (9, 7))
    # A search set by hand is used for every number of codebooks; 0 steps is the plain encode.
    by_hand = RefineConfig(steps=3)
    assert search_for(by_hand, 2, nine) is by_hand and search_for(RefineConfig(steps=0), 9, nine) is None
    assert search_for(None, 9, nine) is None
    # With nothing named: realtime for the model the presets were tuned on, fast for others.
    assert default_quality(nine) == "realtime" and default_quality(other) == "fast"
    assert isinstance(encoder_search(), DefaultQuality)
    assert search_for(encoder_search(), 7, nine) == reduced and search_for(encoder_search(), 9, other) is None
    assert encoder_search("best") is best and encoder_search("realtime", steps=None) is realtime
    assert search_for(encoder_search("realtime"), 9, other) == full  # a named preset applies to any model
    assert encoder_search(steps=0) is None and encoder_search(steps=4, lr=0.2) == RefineConfig(steps=4, lr=0.2)
    with pytest.raises(InputError, match="one or the other"):
        encoder_search("realtime", steps=4)
    with pytest.raises(InputError, match="one or the other"):
        encoder_search("fast", sisdr_weight=0.3)
    with pytest.raises(InputError, match="unknown quality 'slow'"):
        encoder_search("slow")


def test_compress_runs_the_realtime_search_by_default_for_the_tuned_model(tiny, tmp_path):
    import soundfile as sf

    from rvqgan.checkpoint import save_model
    from rvqgan.inference import quality_preset, search_for

    rate, k = tiny.sample_rate, tiny.n_codebooks
    audio = (0.1 * np.random.default_rng(1).standard_normal((1, rate // 2))).astype(np.float32)
    sf.write(tmp_path / "in.wav", audio.T, rate, subtype="FLOAT")
    save_model(tiny, tmp_path / "tuned.safetensors", name="default")  # named as the bundled default model
    save_model(tiny, tmp_path / "tiny.safetensors", name="tiny")
    tuned, other = (rvqgan.load_model(tmp_path / f"{stem}.safetensors") for stem in ("tuned", "tiny"))
    realtime = quality_preset("realtime")
    plain = encode_long(tuned, audio).numpy()
    for n in (k, k - 1):  # full bitrate, and fewer codebooks: each its own search
        rvqgan.compress(tuned, tmp_path / "in.wav", tmp_path / f"d{n}.rvq", n)
        expected = encode_long(tuned, audio, n_quantizers=n, refine=search_for(realtime, n, tuned)).numpy()
        assert np.array_equal(read_rvq(tmp_path / f"d{n}.rvq")[1], expected)
        assert not np.array_equal(expected, plain[:, :n])
    rvqgan.compress(tuned, tmp_path / "in.wav", tmp_path / "f.rvq", quality="fast")
    rvqgan.compress(other, tmp_path / "in.wav", tmp_path / "o.rvq")  # another model: fast unless asked
    assert np.array_equal(read_rvq(tmp_path / "f.rvq")[1], plain)
    assert np.array_equal(read_rvq(tmp_path / "o.rvq")[1], plain)
    rvqgan.compress(other, tmp_path / "in.wav", tmp_path / "r.rvq", quality="realtime")
    assert np.array_equal(read_rvq(tmp_path / "r.rvq")[1], read_rvq(tmp_path / f"d{k}.rvq")[1])
    with pytest.raises(InputError, match="one or the other"):
        rvqgan.compress(tuned, tmp_path / "in.wav", tmp_path / "bad.rvq", quality="best", refine_steps=3)
    with pytest.raises(InputError, match="unknown quality"):
        rvqgan.compress(tuned, tmp_path / "in.wav", tmp_path / "bad.rvq", quality="max")
    assert not (tmp_path / "bad.rvq").exists()


def test_evaluation_runs_each_settings_search_as_compress_does(tiny):
    from rvqgan.eval.codecs import ModelCodec
    from rvqgan.inference import quality_preset, search_for

    k, rate = tiny.n_codebooks, tiny.sample_rate
    audio = (0.1 * np.random.default_rng(2).standard_normal(rate // 2)).astype(np.float32)
    realtime = quality_preset("realtime")
    codec = ModelCodec(tiny, n_codebooks=[1, k], band_limit=False, refine=realtime)
    run = codec.code(audio, rate, codec.settings)
    for coded, n in zip(run.coded, (1, k)):
        codes = encode_long(tiny, audio[None], n_quantizers=n, refine=search_for(realtime, n, tiny))
        with torch.no_grad():
            expected = tiny.decode(codes)[0, 0, : audio.shape[0]].numpy()
        np.testing.assert_allclose(coded.audio, expected, atol=1e-6)
