"""``rvqgan encode --stream`` / ``decode --stream``: real pipes, valid files, cuts reported."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from rvqgan.bitstream import END_SIZE, RvqReader, read_rvq
from rvqgan.checkpoint import save_model
from rvqgan.cli.main import main
from rvqgan.model import Codec
from rvqgan.streaming.wavio import WavPipeReader
from tests.conftest import randomize, tiny_config
from tests.streaming.helpers import causal_codec

RATE = 44100


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """A tiny causal checkpoint and a tiny non-causal one."""
    root = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    save_model(causal_codec(), root / "causal.safetensors", name="tiny-causal")
    save_model(randomize(Codec(tiny_config())), root / "paper.safetensors", name="tiny-paper")
    return {"causal": root / "causal.safetensors", "paper": root / "paper.safetensors"}


@pytest.fixture(scope="module")
def stereo_wav(tmp_path_factory) -> Path:
    """0.3 s of stereo 16-bit WAV at 44.1 kHz, not a whole number of hops."""
    path = tmp_path_factory.mktemp("audio") / "in.wav"
    t = np.arange(int(0.3 * RATE)) / RATE
    audio = np.stack([0.4 * np.sin(2 * np.pi * 440 * t), 0.3 * np.sin(2 * np.pi * 660 * t + 1)], axis=1)
    sf.write(path, audio.astype(np.float32), RATE, subtype="PCM_16")
    return path


class _Std:
    """Stands for sys.stdin / sys.stdout: a ``.buffer`` of bytes."""

    def __init__(self, data: bytes = b"") -> None:
        self.buffer = io.BytesIO(data)


def _run(argv: list[str], monkeypatch, stdin: bytes = b"") -> tuple[int, bytes]:
    """``rvqgan ARGV`` in this process with the given stdin; returns (exit code, stdout bytes)."""
    out = _Std()
    monkeypatch.setattr(sys, "stdin", _Std(stdin))
    monkeypatch.setattr(sys, "stdout", out)
    code = main(argv)
    monkeypatch.undo()
    return code, out.buffer.getvalue()


def test_a_real_pipe_round_trip(models, stereo_wav, tmp_path) -> None:
    model = ["--model", str(models["causal"])]
    encode = [sys.executable, "-m", "rvqgan", "encode", "--stream", "-", "-o", "-", *model]
    decode = [sys.executable, "-m", "rvqgan", "decode", "--stream", "-", "-o", str(tmp_path / "out.wav"), *model]
    with open(stereo_wav, "rb") as source:
        first = subprocess.Popen(encode, stdin=source, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        second = subprocess.run(decode, stdin=first.stdout, capture_output=True, timeout=120, check=False)
        first.stdout.close()
        assert first.wait(timeout=120) == 0, first.stderr.read().decode()
    assert second.returncode == 0, second.stderr.decode()
    out, rate = sf.read(tmp_path / "out.wav", dtype="float32")
    reference = sf.info(stereo_wav)
    assert rate == RATE and out.shape == (reference.frames, 2)
    # The same audio as the ordinary, whole-file path gives for the same input.
    assert main(["encode", str(stereo_wav), "-o", str(tmp_path / "whole.rvq"), *model, "--quality", "fast", "--quiet"]) == 0
    assert main(["decode", str(tmp_path / "whole.rvq"), "-o", str(tmp_path / "whole.wav"), *model, "--quiet"]) == 0
    whole, _ = sf.read(tmp_path / "whole.wav", dtype="float32")
    assert np.abs(out - whole).max() <= 2 / 32768  # 16-bit rounding of nearly equal floats


def test_a_streamed_file_is_an_ordinary_rvq_file(models, stereo_wav, tmp_path, monkeypatch) -> None:
    model = ["--model", str(models["causal"])]
    code, data = _run(["encode", "--stream", "-", "-o", "-", *model], monkeypatch, stereo_wav.read_bytes())
    assert code == 0
    (tmp_path / "s.rvq").write_bytes(data)
    header, codes, end = read_rvq(tmp_path / "s.rvq")
    assert header.original_length is None and end.original_length == sf.info(stereo_wav).frames
    # The same codes as the whole-file path's one-pass encode (the search of --quality realtime is offline only).
    assert main(["encode", str(stereo_wav), "-o", str(tmp_path / "w.rvq"), *model, "--quality", "fast", "--quiet"]) == 0
    assert np.array_equal(codes, read_rvq(tmp_path / "w.rvq")[1])
    # One frame per chunk on a pipe (live); whole chunks when the target is a file.
    assert end.n_chunks == codes.shape[-1]
    assert main(["encode", "--stream", str(stereo_wav), "-o", str(tmp_path / "f.rvq"), *model, "--quiet"]) == 0
    _, codes_f, end_f = read_rvq(tmp_path / "f.rvq")
    assert np.array_equal(codes_f, codes) and end_f.n_chunks == 1
    # The ordinary decoder reads it, at the original length.
    assert main(["decode", str(tmp_path / "s.rvq"), "-o", str(tmp_path / "s.flac"), *model, "--quiet"]) == 0
    assert sf.info(tmp_path / "s.flac").frames == sf.info(stereo_wav).frames


def test_a_cut_stream_decodes_what_came_before_and_fails(models, stereo_wav, tmp_path, monkeypatch) -> None:
    model = ["--model", str(models["causal"])]
    _, data = _run(["encode", "--stream", "-", "-o", "-", *model], monkeypatch, stereo_wav.read_bytes())
    frames = read_rvq(io.BytesIO(data))[1].shape[-1]
    head = RvqReader(io.BytesIO(data)).header_size
    chunk = (len(data) - END_SIZE - head) // frames  # one frame per chunk on a pipe
    for cut in (10, head + 3, head + 5 * chunk, head + 5 * chunk + 1, len(data) - 1):
        target = tmp_path / f"cut{cut}.wav"
        code, _ = _run(["decode", "--stream", "-", "-o", str(target), *model], monkeypatch, data[:cut])
        assert code == 2
        if cut < head:
            assert not target.exists()  # nothing decodable: no output
        else:
            assert sf.info(target).frames == min((cut - head) // chunk, frames) * 512


def test_the_cut_is_reported(models, stereo_wav, monkeypatch, capsys, tmp_path) -> None:
    model = ["--model", str(models["causal"])]
    _, data = _run(["encode", "--stream", "-", "-o", "-", *model], monkeypatch, stereo_wav.read_bytes())
    code, _ = _run(["decode", "--stream", "-", "-o", str(tmp_path / "o.wav"), *model], monkeypatch, data[:-7])
    err = capsys.readouterr().err
    assert code == 2 and "truncated" in err and "decoded before it were written" in err


def test_wav_on_stdout_is_live_and_readable(models, stereo_wav, monkeypatch, tmp_path) -> None:
    model = ["--model", str(models["causal"])]
    _, data = _run(["encode", "--stream", "-", "-o", "-", *model], monkeypatch, stereo_wav.read_bytes())
    code, wav = _run(["decode", "--stream", "-", "-o", "-", *model], monkeypatch, data)
    assert code == 0
    reader = WavPipeReader(io.BytesIO(wav))
    audio = reader.read(10**6)
    frames = read_rvq(io.BytesIO(data))[1].shape[-1]
    # The length arrives with the end record, after the audio went out: whole frames.
    assert (reader.sample_rate, reader.channels, audio.shape[1]) == (RATE, 2, frames * 512)
    assert reader.announced_frames is None


def test_resampled_float_input(models, monkeypatch, tmp_path) -> None:
    t = np.arange(24000) / 48000
    path = tmp_path / "in48.wav"
    sf.write(path, (0.5 * np.sin(2 * np.pi * 300 * t)).astype(np.float32), 48000, subtype="FLOAT")
    model = ["--model", str(models["causal"])]
    code, data = _run(["encode", "--stream", "-", "-o", "-", *model], monkeypatch, path.read_bytes())
    assert code == 0
    code, _ = _run(["decode", "--stream", "-", "-o", str(tmp_path / "o.wav"), *model], monkeypatch, data)
    assert code == 0
    info = sf.info(tmp_path / "o.wav")
    assert (info.samplerate, info.frames) == (48000, 24000)


def test_non_causal_models_explain_why_they_cannot_stream(models, stereo_wav, monkeypatch, capsys, tmp_path) -> None:
    paper = ["--model", str(models["paper"])]
    code, data = _run(["encode", "--stream", "-", "-o", "-", *paper], monkeypatch, stereo_wav.read_bytes())
    assert code == 2 and data == b"" and "not causal" in capsys.readouterr().err
    assert main(["encode", str(stereo_wav), "-o", str(tmp_path / "p.rvq"), *paper, "--quiet"]) == 0
    code, _ = _run(["decode", "--stream", str(tmp_path / "p.rvq"), "-o", str(tmp_path / "p.wav"), *paper], monkeypatch)
    assert code == 2 and "not causal" in capsys.readouterr().err


def test_stdin_that_is_not_wav(models, monkeypatch, capsys) -> None:
    code, _ = _run(["encode", "--stream", "-", "-o", "-", "--model", str(models["causal"])], monkeypatch, b"fLaC....")
    assert code == 2 and "not a WAV stream" in capsys.readouterr().err


def test_stream_decoding_applies_the_signalled_bandwidth_as_offline(models, stereo_wav, tmp_path) -> None:
    model = ["--model", str(models["causal"])]
    # In float: 16-bit samples carry a flat noise floor that the meter rightly counts as content.
    t = np.arange(int(0.3 * RATE)) / RATE
    audio = np.stack([0.4 * np.sin(2 * np.pi * 440 * t), 0.3 * np.sin(2 * np.pi * 660 * t + 1)], axis=1)
    stereo_wav = tmp_path / "float.wav"
    sf.write(stereo_wav, audio.astype(np.float32), RATE, subtype="FLOAT")
    assert main(["encode", str(stereo_wav), "-o", str(tmp_path / "w.rvq"), *model, "--quiet"]) == 0
    with RvqReader(tmp_path / "w.rvq") as reader:
        assert reader.header.bandwidth_hz is not None and reader.header.bandwidth_hz < 1500  # two low sines
    assert main(["decode", str(tmp_path / "w.rvq"), "-o", str(tmp_path / "offline.wav"), *model, "--quiet"]) == 0
    assert main(["decode", "--stream", str(tmp_path / "w.rvq"), "-o", str(tmp_path / "stream.wav"), *model,
                 "--quiet"]) == 0
    offline, _ = sf.read(tmp_path / "offline.wav", dtype="int16")
    streamed, _ = sf.read(tmp_path / "stream.wav", dtype="int16")
    assert offline.shape == streamed.shape == (sf.info(stereo_wav).frames, 2)
    assert np.abs(offline.astype(int) - streamed.astype(int)).max() <= 1
    # --full-band signals nothing.
    assert main(["encode", str(stereo_wav), "-o", str(tmp_path / "f.rvq"), *model, "--full-band", "--quiet"]) == 0
    with RvqReader(tmp_path / "f.rvq") as reader:
        assert reader.header.bandwidth_hz is None
