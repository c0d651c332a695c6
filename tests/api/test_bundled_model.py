"""The bundled default model: found by name, its card present, and a real round trip that an
untrained network could not give."""

from __future__ import annotations

import numpy as np
import soundfile as sf

import rvqgan
from rvqgan.audio import read_audio
from rvqgan.eval.metrics import MetricSuite, si_sdr
from rvqgan.models import MODELS_DIR
from tests.conftest import REAL_CLIP


def test_default_is_bundled_with_its_card():
    assert "default" in rvqgan.available_models()
    model = rvqgan.load_model()
    assert model.name == "default" and model.content_hash
    assert (model.sample_rate, model.hop_length, model.n_codebooks, model.codebook_size) == (44100, 512, 9, 1024)
    card = (MODELS_DIR / "default.md").read_text()
    assert "step" in card and "compute" in card
    # Small enough to live in git.
    assert (MODELS_DIR / "default.safetensors").stat().st_size < 50e6


def test_default_round_trip_of_a_real_file(tmp_path):
    model = rvqgan.load_model()
    result = rvqgan.compress(model, REAL_CLIP, tmp_path / "p.rvq")
    channels = sf.info(REAL_CLIP).channels
    assert abs(result.nominal_bitrate / channels - model.bitrate(9)) < 1e-6 and abs(model.bitrate(9) - 7751.95) < 0.1
    # The file costs the nominal bitrate plus framing (header, chunk heads, end record).
    assert result.file_bytes < 1.05 * result.nominal_bitrate * result.duration / 8 + 600
    rvqgan.decompress(tmp_path / "p.rvq", tmp_path / "p.wav")
    ref, out = sf.info(REAL_CLIP), sf.info(tmp_path / "p.wav")
    assert (out.frames, out.samplerate, out.channels) == (ref.frames, ref.samplerate, ref.channels)
    x, _ = read_audio(REAL_CLIP, 44100)
    y, _ = read_audio(tmp_path / "p.wav", 44100)
    metrics = MetricSuite(44100, visqol=False, speech=False)
    mel = np.mean([metrics.spectral(x[c], y[c])["mel"] for c in range(x.shape[0])])
    # An untrained generator scores about 11 here; the bundled model must be far better.
    assert mel < 5.0, mel
    # The waveform itself must come back in phase, not only its spectrum: the step-5,000 model
    # (paper losses only) scored about -20 dB here, step 10,000 +8.5 dB, step 14,800 +10.1 dB,
    # step 26,990 +11.5 dB, step 29,200 +13.3 dB, step 31,800 with its encoder trained alone +13.6 dB.
    sdr = np.mean([si_sdr(x[c], y[c]) for c in range(x.shape[0])])
    assert sdr > 3.0, sdr


def test_bundled_causal_model_streams_a_real_file_as_offline():
    import torch

    assert "causal" in rvqgan.available_models()
    model = rvqgan.load_model("causal")
    assert model.is_causal and model.sample_rate == 44100
    assert (MODELS_DIR / "causal.md").is_file()
    x, _ = read_audio(REAL_CLIP, 44100)
    audio = torch.from_numpy(x[:1, : 44100])[None]  # 1 s, mono
    with torch.no_grad():
        offline = model.encode(audio)
        decoded = model.decode(offline)
    rng = np.random.default_rng(0)
    codes, out, pos = [], [], 0
    with model.streaming(batch_size=1):
        while pos < audio.shape[-1]:
            n = int(rng.integers(1, 1500))
            c = model.encode_step(audio[..., pos : pos + n])
            codes.append(c)
            out.append(model.decode_step(c))
            pos += n
        tail = model.flush()
    streamed = torch.cat([*codes, tail.codes], dim=-1)
    assert torch.equal(streamed, offline)
    audio_out = torch.cat([*out, tail.audio], dim=-1)
    assert audio_out.shape[-1] == audio.shape[-1]
    err = (audio_out - decoded[..., : audio.shape[-1]]).abs().max() / decoded.abs().max()
    assert err < 1e-5, float(err)


def test_the_default_encode_searches_and_comes_closer_than_the_one_pass_encode(tmp_path):
    """``rvqgan encode``'s default for the bundled model is ``--quality realtime``: on a real
    file it must decode closer to the input than the one-pass encode (``--quality fast``)."""
    model = rvqgan.load_model()
    x, _ = read_audio(REAL_CLIP, 44100)
    sdr = {}
    for quality in (None, "fast"):
        rvqgan.compress(model, REAL_CLIP, tmp_path / f"{quality}.rvq", quality=quality)
        rvqgan.decompress(tmp_path / f"{quality}.rvq", tmp_path / f"{quality}.wav")
        y, _ = read_audio(tmp_path / f"{quality}.wav", 44100)
        sdr[quality] = np.mean([si_sdr(x[c], y[c]) for c in range(x.shape[0])])
    assert sdr[None] > sdr["fast"] + 0.5, sdr
