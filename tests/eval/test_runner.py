"""The resumable runner: interrupted runs resume without duplicates; models are measured."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import soundfile as sf
import torch

from rvqgan.bitstream import packed_size
from rvqgan.eval.codecs import Coded, CodingRun, EvalCodec, ModelCodec, Setting
from rvqgan.eval.report import write_results_csv
from rvqgan.eval.runner import RESULTS, EvalOptions, evaluate, load_results, load_usage
from rvqgan.eval.testset import load_testset
from rvqgan.model import Codec
from tests.conftest import randomize, tiny_config

OPTIONS = EvalOptions(visqol=False, speech_metrics=False, clips_for_plots=2)


class GainCodec(EvalCodec):
    """A deterministic stand-in codec: scales the input and adds a known ripple."""

    def __init__(self, name: str = "fake", values=(1, 2), fail_after: int | None = None) -> None:
        self.name = name
        self.settings = tuple(Setting(f"g{v}", float(v), v, 44100) for v in values)
        self.fail_after = fail_after
        self.calls = 0

    def code(self, audio, sample_rate, settings):
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise KeyboardInterrupt
        t = np.arange(audio.shape[0]) / sample_rate
        coded = [
            Coded(
                s,
                (0.9 * audio + 0.01 * s.value * np.sin(2 * np.pi * 440 * t)).astype(np.float32),
                100 * s.value,
                120 * s.value,
            )
            for s in settings
        ]
        return CodingRun(coded)


@pytest.fixture
def testset(tmp_path, piano):
    audio, rate = piano
    lines = []
    for index, domain in enumerate(("music", "speech", "environmental")):
        name = f"clips/{domain}_{index}.flac"
        (tmp_path / "clips").mkdir(exist_ok=True)
        sf.write(tmp_path / name, audio[index * 20000 : index * 20000 + rate // 2], rate)
        lines.append(json.dumps({"path": name, "domain": domain, "full_band": False, "duration": 0.5}))
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text("\n".join(lines) + "\n")
    return load_testset(manifest)


def _csv(rows, path):
    write_results_csv(rows, path)
    return path.read_text()


def test_interrupted_run_resumes_without_duplicates(tmp_path, testset):
    full, _ = evaluate(testset, [GainCodec(), GainCodec("other")], tmp_path / "full", OPTIONS, progress=False)
    assert len(full) == 3 * 2 * 2

    out = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        evaluate(testset, [GainCodec(fail_after=2), GainCodec("other")], out, OPTIONS, progress=False)
    assert len(load_results(out)) == 4 * 2  # clips 0 and 1 done with both codecs; clip 2 interrupted
    restarted = GainCodec()
    rows, _ = evaluate(testset, [restarted, GainCodec("other")], out, OPTIONS, progress=False)
    assert restarted.calls == 1  # only clip2 was left for it
    keys = [(r["clip"], r["codec"], r["setting"]) for r in rows]
    assert len(keys) == len(set(keys)) == 12
    assert _csv(rows, tmp_path / "a.csv") == _csv(full, tmp_path / "b.csv")

    again = GainCodec()
    evaluate(testset, [again, GainCodec("other")], out, OPTIONS, progress=False)
    assert again.calls == 0  # nothing left to do


def test_torn_last_line_is_dropped_and_new_settings_are_added(tmp_path, testset):
    out = tmp_path / "out"
    evaluate(testset[:1], [GainCodec()], out, OPTIONS, progress=False)
    with open(out / RESULTS, "a") as handle:
        handle.write('{"clip": "clips/x.flac", "rows": [')  # a write cut by a crash
    assert len(load_results(out)) == 2
    assert (out / RESULTS).read_text().endswith("]}\n")  # the torn line is gone
    wider = GainCodec(values=(1, 2, 3))
    rows, _ = evaluate(testset[:1], [wider], out, OPTIONS, progress=False)
    assert [r["setting"] for r in rows] == ["g1", "g2", "g3"]
    assert wider.calls == 1


def test_rows_carry_measured_bitrate_and_plot_audio_is_kept(tmp_path, testset):
    rows, _ = evaluate(testset, [GainCodec()], tmp_path, OPTIONS, progress=False)
    first = rows[0]
    assert first["kbps"] == pytest.approx(100 * 8 / 0.5 / 1000)
    assert first["file_kbps"] == pytest.approx(120 * 8 / 0.5 / 1000)
    assert first["sisdr"] > 20 and math.isnan(first["pesq"])
    kept = sorted(p.parent.name for p in (tmp_path / "audio").glob("*/reference.flac"))
    assert kept == ["clips_music_0.flac", "clips_speech_1.flac"]  # round-robin over domains


def test_model_codec_bitrate_from_rvq_bytes_and_code_usage(tmp_path, testset):
    torch.manual_seed(0)
    model = randomize(Codec(tiny_config())).eval()
    model.name = "tiny"
    codec = ModelCodec(model)
    assert [s.label for s in codec.settings] == ["q1", "q2", "q3", "q4"]
    rows, _ = evaluate(testset[:2], [codec], tmp_path, OPTIONS, progress=False)
    assert len(rows) == 8
    frames = model.n_frames(22050)
    bits = math.log2(model.codebook_size)
    for row, n in zip(rows[:4], range(1, 5)):
        assert row["payload_bytes"] == packed_size(n * frames, int(bits))  # one chunk: 44 frames < 129
        assert row["file_bytes"] > row["payload_bytes"]
        assert row["kbps"] == pytest.approx(row["nominal_kbps"], rel=0.03)
        assert row["nominal_kbps"] == pytest.approx(n * bits * 44100 / model.hop_length / 1000)
    usage = load_usage(tmp_path)["tiny"]
    assert usage.clips == [c.id for c in testset[:2]]
    assert usage.counts.shape == (4, model.codebook_size)
    assert usage.counts.sum(axis=1).tolist() == [2 * frames] * 4


def test_model_codec_signals_the_bandwidth_as_compress_does(tmp_path):
    from rvqgan.audio.bandwidth import band_limit, measure_bandwidth
    from rvqgan.checkpoint import save_model
    from rvqgan.eval.specs import parse_codec_spec

    torch.manual_seed(0)
    model = randomize(Codec(tiny_config())).eval()
    model.name = "tiny"
    noise = np.random.default_rng(0).standard_normal(22050)
    spectrum = np.fft.rfft(noise)
    spectrum[np.fft.rfftfreq(noise.size, 1 / 44100) > 5000] = 0
    audio = (0.1 * np.fft.irfft(spectrum, noise.size)).astype(np.float32)
    limited = ModelCodec(model).code(audio, 44100, ModelCodec(model).settings[-1:]).coded[0]
    plain = ModelCodec(model, band_limit=False).code(audio, 44100, ModelCodec(model).settings[-1:]).coded[0]
    bandwidth = measure_bandwidth(audio, 44100)
    assert 5000 <= bandwidth <= 5400
    expected = band_limit(torch.from_numpy(plain.audio[None].copy()), 44100, bandwidth)[0].numpy()
    assert np.abs(limited.audio - expected).max() < 1e-5 * np.abs(plain.audio).max()
    assert limited.payload_bytes == plain.payload_bytes
    assert limited.file_bytes == plain.file_bytes + len(str(bandwidth)) - len("null")  # the header's value
    save_model(model, tmp_path / "tiny.safetensors", name="tiny")
    assert parse_codec_spec(f"model:{tmp_path / 'tiny.safetensors'}").band_limit
    assert not parse_codec_spec(f"model-fullband:{tmp_path / 'tiny.safetensors'}").band_limit
