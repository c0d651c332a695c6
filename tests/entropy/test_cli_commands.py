"""The entropy options through the real commands: encode --entropy, decode --salvage, info, train-lm."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from rvqgan.bitstream import RvqReader
from rvqgan.cli.main import build_parser, main
from tests.conftest import REAL_CLIP


def _encode(model, target, *extra: str) -> int:
    return main(["encode", str(REAL_CLIP), "-o", str(target), "--model", str(model), "--quiet", "--quality", "fast", *extra])


def test_entropy_coded_files_decode_to_the_same_audio_and_are_smaller(codec_dir, tmp_path, capsys):
    model = codec_dir / "tiny.safetensors"
    sizes, audio = {}, {}
    for coding in ("none", "static", "lm"):
        rvq = tmp_path / f"{coding}.rvq"
        assert _encode(model, rvq, "--entropy", coding) == 0
        sizes[coding] = rvq.stat().st_size
        assert main(["decode", str(rvq), "-o", str(tmp_path / f"{coding}.wav"), "--model", str(model), "--quiet"]) == 0
        audio[coding], _ = sf.read(tmp_path / f"{coding}.wav", dtype="float32")
    assert np.array_equal(audio["none"], audio["static"]) and np.array_equal(audio["none"], audio["lm"])
    assert sizes["lm"] < sizes["none"] and sizes["static"] <= sizes["none"]

    capsys.readouterr()
    assert main(["info", str(tmp_path / "lm.rvq"), "--verify"]) == 0
    report = json.loads(capsys.readouterr().out)
    facts = report["facts"]
    assert facts["entropy"] == "lm" and facts["entropy_model"]["name"] == "tiny.lm"
    assert facts["chunk_codings"].get("lm", 0) >= 1
    assert 0 < facts["payload_bits_per_second"] < facts["bits_per_second"]
    assert main(["info", str(tmp_path / "none.rvq")]) == 0
    assert json.loads(capsys.readouterr().out)["facts"]["entropy"] == "none"


def test_auto_picks_the_lm_when_the_model_has_one(codec_dir, tmp_path, capsys):
    assert _encode(codec_dir / "tiny.safetensors", tmp_path / "a.rvq", "--entropy", "auto") == 0
    capsys.readouterr()
    main(["info", str(tmp_path / "a.rvq")])
    assert json.loads(capsys.readouterr().out)["facts"]["entropy"] == "lm"


def test_a_corrupt_byte_fails_plain_decode_and_salvage_recovers_the_rest(codec_dir, tmp_path, capsys):
    model = codec_dir / "tiny.safetensors"
    rvq = tmp_path / "lm.rvq"
    assert _encode(model, rvq, "--entropy", "lm") == 0
    with RvqReader(rvq) as reader:
        records = list(reader.records())
    assert len(records) >= 2
    data = bytearray(rvq.read_bytes())
    data[records[0].offset + 20] ^= 0x5A  # inside the first chunk
    rvq.write_bytes(bytes(data))
    out = tmp_path / "back.wav"
    assert main(["decode", str(rvq), "-o", str(out), "--model", str(model), "--quiet"]) != 0
    assert not out.exists(), "a failed decode must not leave a file that looks complete"
    capsys.readouterr()
    assert main(["decode", str(rvq), "-o", str(out), "--model", str(model), "--salvage", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "salvaged" in err and "lost" in err
    assert sf.info(out).frames == sf.info(REAL_CLIP).frames


def test_entropy_and_stream_options_conflict(codec_dir, tmp_path):
    model = codec_dir / "tiny.safetensors"
    assert main(["encode", str(REAL_CLIP), "-o", str(tmp_path / "s.rvq"), "--model", str(model),
                 "--stream", "--entropy", "lm"]) != 0
    assert main(["decode", str(tmp_path / "x.rvq"), "-o", "-", "--stream", "--salvage"]) != 0


def test_train_lm_is_a_command():
    parser = build_parser()
    args = parser.parse_args(["train-lm", "configs/lm/default.yaml", "--run-dir", "x"])
    assert args.func.__module__ == "rvqgan.cli.train_lm"
    with pytest.raises(SystemExit):
        parser.parse_args(["encode", str(REAL_CLIP), "--entropy", "zip"])
