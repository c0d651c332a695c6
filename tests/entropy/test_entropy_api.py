"""compress(entropy=...) / decompress: same codes and audio, smaller files, clear errors."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf

import rvqgan
from rvqgan.bitstream import KIND_RAW, RvqHeader, RvqReader, RvqWriter, read_rvq
from rvqgan.entropy import decoder_for, lm_path_for, static_path_for
from rvqgan.errors import BitstreamError, CheckpointError, InputError
from tests.conftest import REAL_CLIP


@pytest.fixture(scope="module")
def coded(codec_dir, tmp_path_factory):
    """The real clip compressed with each coding, and decoded back."""
    folder = tmp_path_factory.mktemp("coded")
    model = rvqgan.load_model(codec_dir / "tiny.safetensors")
    results = {}
    for entropy in ("none", "static", "lm"):
        result = rvqgan.compress(model, REAL_CLIP, folder / f"{entropy}.rvq", entropy=entropy, quality="fast")
        rvqgan.decompress(folder / f"{entropy}.rvq", folder / f"{entropy}.wav", model)
        results[entropy] = result
    return folder, model, results


def _codes(path, model):
    with RvqReader(path) as reader:
        reader.chunk_decoder = decoder_for(reader.header, model)
        return np.concatenate(list(reader), axis=2), reader.header


def test_coded_and_plain_files_hold_identical_codes_and_audio(coded):
    folder, model, results = coded
    plain, _ = _codes(folder / "none.rvq", model)
    audio = sf.read(folder / "none.wav", dtype="int16")[0]
    for entropy in ("static", "lm"):
        codes, header = _codes(folder / f"{entropy}.rvq", model)
        np.testing.assert_array_equal(codes, plain)
        np.testing.assert_array_equal(sf.read(folder / f"{entropy}.wav", dtype="int16")[0], audio)
        assert header.entropy.coding == entropy and header.format_version == 3
        assert results[entropy].coded_chunks >= 1


def test_coded_files_are_never_larger_than_plain(coded):
    _, _, results = coded
    none = results["none"]
    for entropy in ("static", "lm"):
        assert results[entropy].payload_bytes <= none.payload_bytes
        assert results[entropy].file_bytes <= none.file_bytes + 200  # the header names the entropy model


def test_a_missing_entropy_model_is_named(coded, codec_dir, tmp_path):
    folder, _, _ = coded
    for name in ("tiny.safetensors",):
        shutil.copy(codec_dir / name, tmp_path / name)
    alone = rvqgan.load_model(tmp_path / "tiny.safetensors")  # same codec, no sidecars
    with pytest.raises(CheckpointError, match=r"code LM 'tiny.lm' \(hash [0-9a-f]{16}\).*not available") as info:
        rvqgan.decompress(folder / "lm.rvq", tmp_path / "x.wav", alone)
    assert str(lm_path_for(tmp_path / "tiny.safetensors")) in str(info.value)
    assert not (tmp_path / "x.wav").exists()
    with pytest.raises(CheckpointError, match="static tables 'tiny.static'"):
        rvqgan.decompress(folder / "static.rvq", tmp_path / "y.wav", alone)
    rvqgan.decompress(folder / "none.rvq", tmp_path / "z.wav", alone)  # plain files need nothing
    with pytest.raises(CheckpointError, match="no code language model"):
        rvqgan.compress(alone, REAL_CLIP, tmp_path / "a.rvq", entropy="lm")


def test_a_different_entropy_model_is_refused(coded, codec_dir, tmp_path):
    from rvqgan.entropy import save_lm
    from rvqgan.entropy.export import export_lm
    from tests.entropy.conftest import random_lm

    folder, model, _ = coded
    shutil.copy(codec_dir / "tiny.safetensors", tmp_path / "tiny.safetensors")
    other = random_lm(7)
    save_lm(
        lm_path_for(tmp_path / "tiny.safetensors"),
        other.config,
        export_lm(other),
        name="other.lm",
        codec_name="tiny",
        codec_hash=model.content_hash,
    )
    with pytest.raises(CheckpointError, match="tiny.lm.*but the entropy model available is lm 'other.lm'"):
        rvqgan.decompress(folder / "lm.rvq", tmp_path / "x.wav", rvqgan.load_model(tmp_path / "tiny.safetensors"))


def test_an_entropy_model_of_another_codec_is_refused(codec_dir, tmp_path):
    shutil.copy(codec_dir / "tiny.safetensors", tmp_path / "tiny.safetensors")
    shutil.copy(static_path_for(codec_dir / "tiny.safetensors"), static_path_for(tmp_path / "tiny.safetensors"))
    model = rvqgan.load_model(tmp_path / "tiny.safetensors")
    model.entropy_models.codec_hash = "0" * 64  # as if the codec had been retrained
    with pytest.raises(CheckpointError, match="made for codec hash"):
        rvqgan.compress(model, REAL_CLIP, tmp_path / "a.rvq", entropy="static")


def test_bad_entropy_argument(codec_dir, tmp_path):
    model = rvqgan.load_model(codec_dir / "tiny.safetensors")
    with pytest.raises(InputError, match="entropy"):
        rvqgan.compress(model, REAL_CLIP, tmp_path / "a.rvq", entropy="zip")


def test_version_1_files_still_decode(coded, tmp_path):
    folder, model, _ = coded
    header, codes, end = read_rvq(folder / "none.rvq")
    fields = header.to_dict()
    fields.update(format_version=1, entropy=None, loudness=None)
    old = RvqHeader(**fields)
    with RvqWriter(tmp_path / "old.rvq", old) as writer:
        writer.write_chunk(codes)
        writer.close(original_length=end.original_length)
    assert (tmp_path / "old.rvq").read_bytes()[4] == 1
    again_header, again, _ = read_rvq(tmp_path / "old.rvq")
    assert again_header.format_version == 1 and "entropy" not in again_header.to_dict()
    np.testing.assert_array_equal(again, codes)
    rvqgan.decompress(tmp_path / "old.rvq", tmp_path / "old.wav", model)
    np.testing.assert_array_equal(
        sf.read(tmp_path / "old.wav", dtype="int16")[0], sf.read(folder / "none.wav", dtype="int16")[0]
    )


def test_coded_chunks_need_their_decoder(coded):
    folder, _, _ = coded
    with pytest.raises(BitstreamError, match="entropy-coded .*lm.*'tiny.lm'"):
        read_rvq(folder / "lm.rvq")
    with RvqReader(folder / "lm.rvq") as reader:  # records are checked without any model
        kinds = [record.kind for record in reader.records()]
    assert kinds and all(kind != KIND_RAW for kind in kinds[:1])
