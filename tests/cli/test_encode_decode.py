"""The encode/decode commands: a real round trip, folders mirrored, failures summarised."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import soundfile as sf

from rvqgan.bitstream import read_rvq
from rvqgan.cli.main import main
from tests.conftest import REAL_CLIP


def test_cli_round_trip_on_a_real_file(saved_model, tmp_path) -> None:
    assert main(["encode", str(REAL_CLIP), "-o", str(tmp_path / "p.rvq"), "--model", str(saved_model), "--quiet"]) == 0
    assert main(["decode", str(tmp_path / "p.rvq"), "-o", str(tmp_path / "p.flac"), "--model", str(saved_model)]) == 0
    ref, out = sf.info(REAL_CLIP), sf.info(tmp_path / "p.flac")
    assert (out.frames, out.samplerate, out.channels) == (ref.frames, ref.samplerate, ref.channels)


def test_kbps_picks_the_codebooks(saved_model, tmp_path) -> None:
    # The tiny model: 75 frames/s x 8 bits = 0.6 kbps per codebook.
    assert main(["encode", str(REAL_CLIP), "-o", str(tmp_path / "p.rvq"), "--model", str(saved_model), "--kbps", "1.3"]) == 0
    assert read_rvq(tmp_path / "p.rvq")[0].n_codebooks == 2
    assert main(["encode", str(REAL_CLIP), "-o", str(tmp_path / "q.rvq"), "--model", str(saved_model), "--kbps", "0.1"]) == 2


def test_folders_are_mirrored_and_failures_reported(saved_model, tmp_path, capsys) -> None:
    src = tmp_path / "in"
    (src / "a" / "b").mkdir(parents=True)
    shutil.copy(REAL_CLIP, src / "a" / "one.flac")
    shutil.copy(REAL_CLIP, src / "a" / "b" / "two.flac")
    (src / "a" / "broken.wav").write_bytes(b"RIFF garbage")
    (src / "notes.txt").write_text("not audio")
    code = main(["encode", str(src), "-o", str(tmp_path / "codes"), "--model", str(saved_model), "--quiet"])
    assert code == 1
    assert (tmp_path / "codes" / "a" / "one.rvq").is_file()
    assert (tmp_path / "codes" / "a" / "b" / "two.rvq").is_file()
    assert not (tmp_path / "codes" / "a" / "broken.rvq").exists()
    err = capsys.readouterr().err
    assert "1 failed" in err and "broken.wav" in err
    code = main(["decode", str(tmp_path / "codes"), "-o", str(tmp_path / "back"), "--model", str(saved_model), "--quiet"])
    assert code == 0
    assert (tmp_path / "back" / "a" / "b" / "two.wav").is_file()
    # A second run must not overwrite without --overwrite.
    code = main(["decode", str(tmp_path / "codes"), "-o", str(tmp_path / "back"), "--model", str(saved_model), "--quiet"])
    assert code == 1 and "overwrite" in capsys.readouterr().err


def test_silence_and_clipping_are_coded(saved_model, tmp_path) -> None:
    sf.write(tmp_path / "silence.wav", np.zeros(24000, np.float32), 24000)
    sf.write(tmp_path / "loud.wav", np.full(24000, 1.0, np.float32), 24000)
    for name in ("silence", "loud"):
        assert main(["encode", str(tmp_path / f"{name}.wav"), "-o", str(tmp_path / f"{name}.rvq"), "--model", str(saved_model)]) == 0
        assert main(["decode", str(tmp_path / f"{name}.rvq"), "-o", str(tmp_path / f"{name}_out.wav"), "--model", str(saved_model)]) == 0
        assert sf.info(tmp_path / f"{name}_out.wav").frames == 24000


def test_a_closed_pipe_stops_info_quietly(saved_model, tmp_path) -> None:
    # As in `rvqgan info x.rvq | head -1`: the reader closes its end before the report is written.
    assert main(["encode", str(REAL_CLIP), "-o", str(tmp_path / "p.rvq"), "--model", str(saved_model), "--quiet"]) == 0
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([sys.executable, "-m", "rvqgan.cli.main", "info", str(tmp_path / "p.rvq")],
                              stdout=write_end, stderr=subprocess.PIPE, timeout=120, check=False)
    finally:
        os.close(write_end)
    assert done.returncode == 141, done.stderr.decode()
    assert b"Traceback" not in done.stderr and b"BrokenPipe" not in done.stderr


def test_refine_options_without_refine_are_refused(saved_model, tmp_path, capsys) -> None:
    out = tmp_path / "p.rvq"
    code = main(["encode", str(REAL_CLIP), "-o", str(out), "--model", str(saved_model), "--refine-sisdr", "0.3"])
    assert code == 2 and "--refine STEPS" in capsys.readouterr().err
    assert not out.exists()
    code = main(["eval", "--testset", str(tmp_path / "none.jsonl"), "--codec", f"model:{saved_model}",
                 "--refine-sisdr", "0.3", "-o", str(tmp_path / "eval")])
    assert code == 2 and "--refine STEPS" in capsys.readouterr().err and not (tmp_path / "eval").exists()
    # A learning rate with no search to run is refused the same way.
    code = main(["encode", str(REAL_CLIP), "-o", str(out), "--model", str(saved_model), "--refine-lr", "0.2"])
    assert code == 2 and "--refine STEPS" in capsys.readouterr().err and not out.exists()
    code = main(["eval", "--testset", str(tmp_path / "none.jsonl"), "--codec", f"model:{saved_model}",
                 "--refine-lr", "0.2", "-o", str(tmp_path / "eval")])
    assert code == 2 and "--refine STEPS" in capsys.readouterr().err and not (tmp_path / "eval").exists()
    # So is a mel weight.
    code = main(["encode", str(REAL_CLIP), "-o", str(out), "--model", str(saved_model), "--refine-mel", "0"])
    assert code == 2 and "--refine STEPS" in capsys.readouterr().err and not out.exists()
    code = main(["eval", "--testset", str(tmp_path / "none.jsonl"), "--codec", f"model:{saved_model}",
                 "--refine-mel", "0", "-o", str(tmp_path / "eval")])
    assert code == 2 and "--refine STEPS" in capsys.readouterr().err and not (tmp_path / "eval").exists()


def test_quality_picks_the_search_and_conflicts_are_refused(saved_model, tmp_path, capsys) -> None:
    def encode(name: str, *extra: str) -> int:
        return main(["encode", str(REAL_CLIP), "-o", str(tmp_path / name), "--model", str(saved_model), "--quiet", *extra])

    assert encode("fast.rvq", "--quality", "fast") == 0 and encode("zero.rvq", "--refine", "0") == 0
    assert encode("default.rvq") == 0 and encode("realtime.rvq", "--quality", "realtime") == 0
    fast, zero = read_rvq(tmp_path / "fast.rvq")[1], read_rvq(tmp_path / "zero.rvq")[1]
    default, realtime = read_rvq(tmp_path / "default.rvq")[1], read_rvq(tmp_path / "realtime.rvq")[1]
    # A model other than the bundled default model gets the one-pass encode unless a quality is named.
    assert np.array_equal(fast, zero) and np.array_equal(default, fast) and not np.array_equal(fast, realtime)
    capsys.readouterr()
    assert encode("bad.rvq", "--quality", "best", "--refine", "3") == 2
    assert "one or the other" in capsys.readouterr().err and not (tmp_path / "bad.rvq").exists()
    assert encode("bad.rvq", "--stream", "--quality", "realtime") == 2
    assert "--stream" in capsys.readouterr().err and not (tmp_path / "bad.rvq").exists()
    code = main(["eval", "--testset", str(tmp_path / "none.jsonl"), "--codec", f"model:{saved_model}",
                 "--quality", "fast", "--refine", "2", "-o", str(tmp_path / "eval")])
    assert code == 2 and "one or the other" in capsys.readouterr().err and not (tmp_path / "eval").exists()
