"""The session API: context, errors on bad input, no mutation of the model, streams side by side."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from rvqgan.errors import InputError, RvqganError
from rvqgan.model import Codec
from rvqgan.streaming import StreamingError, StreamingSession, streaming
from tests.conftest import tiny_config
from tests.streaming.helpers import causal_codec, chunk_sizes, signal, stream_decode, stream_encode


def test_a_non_causal_model_refuses_to_stream_and_says_which_can() -> None:
    model = Codec(tiny_config())
    with pytest.raises(StreamingError, match="causal") as info:
        model.streaming()  # refused at the call, before any `with`
    # It names the bundled models that can stream (or says there are none yet) and how to get one.
    assert "bundled" in str(info.value) and "CodecConfig(causal=True)" in str(info.value)
    with pytest.raises(StreamingError):
        StreamingSession(model)


def test_steps_outside_a_stream_are_refused() -> None:
    model = causal_codec()
    for call in (lambda: model.encode_step(torch.zeros(1, 1, 10)), lambda: model.flush()):
        with pytest.raises(StreamingError, match="model.streaming"):
            call()
    with model.streaming() as session:
        pass
    with pytest.raises(StreamingError, match="closed"):
        session.encode_step(torch.zeros(1, 1, 10))
    with pytest.raises(StreamingError, match="model.streaming"):
        model.decode_step(torch.zeros(1, 4, 1, dtype=torch.long))


def bad_chunks() -> list[tuple[object, str]]:
    nan = torch.zeros(1, 1, 700)
    nan[0, 0, 5] = float("nan")
    return [
        (torch.zeros(1, 2, 100), "C=1"),  # wrong channel count
        (torch.zeros(2, 1, 100), "B=1"),  # wrong batch size
        (torch.zeros(1, 100), r"\(B=1"),  # missing axis
        (torch.zeros(1, 1, 100, dtype=torch.int16), "float"),
        (np.zeros((1, 1, 100), np.float32), "torch.Tensor"),
        (nan, "NaN"),
        (torch.full((1, 1, 3), float("inf")), "NaN or infinite"),
    ]


@pytest.mark.parametrize(("chunk", "message"), bad_chunks())
def test_bad_audio_chunks_get_a_clear_error_and_leave_the_stream_intact(chunk: object, message: str) -> None:
    model = causal_codec()
    audio = signal(1, 1, 3 * model.hop_length + 11, seed=30)
    with model.streaming() as session:
        first = model.encode_step(audio[..., :600])
        with pytest.raises(InputError, match=message):
            model.encode_step(chunk)
        rest = model.encode_step(audio[..., 600:])
        tail = model.flush()
    assert session.rows == 1
    assert torch.equal(torch.cat([first, rest, tail.codes], -1), model.encode(audio))


def test_bad_codes_get_a_clear_error() -> None:
    model = causal_codec()
    good = torch.zeros(1, 3, 2, dtype=torch.long)
    with model.streaming():
        with pytest.raises(InputError, match="codes must be in"):
            model.decode_step(torch.full((1, 3, 2), model.codebook_size))
        with pytest.raises(InputError, match="codes must be in"):
            model.decode_step(torch.full((1, 3, 2), -1))
        with pytest.raises(InputError, match="integer"):
            model.decode_step(good.float())
        with pytest.raises(InputError, match="B \\* C = 1"):
            model.decode_step(torch.zeros(2, 3, 2, dtype=torch.long))
        with pytest.raises(InputError, match="codebooks"):
            model.decode_step(torch.zeros(1, model.n_codebooks + 1, 2, dtype=torch.long))
        model.decode_step(good)
        with pytest.raises(InputError, match="cannot change mid-stream"):
            model.decode_step(torch.zeros(1, 2, 1, dtype=torch.long))
        assert model.decode_step(good).shape == (1, 1, 2 * model.hop_length)
        model.flush()  # a new stream may use another number of codebooks
        assert model.decode_step(torch.zeros(1, 2, 1, dtype=torch.long)).shape == (1, 1, model.hop_length)


def test_bad_session_arguments() -> None:
    model = causal_codec()
    for kwargs in ({"batch_size": 0}, {"batch_size": 1.5}, {"channels": 0}, {"n_quantizers": 9}):
        with pytest.raises(InputError):
            StreamingSession(model, **kwargs)


def test_empty_steps_and_shapes() -> None:
    model = causal_codec()
    with model.streaming(batch_size=2, channels=2, n_quantizers=3):
        assert model.encode_step(torch.zeros(2, 2, 0)).shape == (4, 3, 0)
        assert model.encode_step(torch.zeros(2, 2, 10, dtype=torch.float64)).shape == (4, 3, 0)
        assert model.decode_step(torch.zeros(4, 3, 0, dtype=torch.long)).shape == (2, 2, 0)
        # The decoder has had every frame the encoder gave (none): a loopback, so the tail
        # is decoded too, cut to the 10 samples fed.
        tail = model.flush()
        assert tail.codes.shape == (4, 3, 1) and tail.audio.shape == (2, 2, 10)
        tail = model.flush()
        assert tail.codes.shape == (4, 3, 0) and tail.audio.shape == (2, 2, 0)
        model.encode_step(torch.zeros(2, 2, 700))  # encoder only: the decoder owes nothing
        tail = model.flush()
        assert tail.codes.shape == (4, 3, 1) and tail.audio.shape == (2, 2, 0)


def test_the_model_is_never_modified() -> None:
    model = causal_codec()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    attributes = {name: dict(vars(m)) for name, m in model.named_modules()}
    with model.streaming(batch_size=1) as session:
        codes = model.encode_step(signal(1, 1, 3000))
        model.decode_step(codes)
        during = {name: dict(vars(m)) for name, m in model.named_modules()}
        model.flush()
    assert during.keys() == attributes.keys()
    for name, attrs in attributes.items():
        assert during[name].keys() == attrs.keys(), name
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert session._encoder_state is None and session._decoder_state is None  # dropped on leaving


def test_results_are_ordinary_tensors() -> None:
    model = causal_codec()
    with model.streaming():
        audio = model.decode_step(model.encode_step(signal(1, 1, 2000)))
    assert not audio.is_inference()
    audio.mul_(2)  # in-place use is allowed


def test_two_models_stream_side_by_side() -> None:
    first, second = causal_codec(seed=1), causal_codec(seed=2)
    a, b = signal(1, 1, 4000, seed=31), signal(1, 1, 4000, seed=32)
    out_a, out_b = [], []
    with first.streaming(), second.streaming():
        for start in range(0, 4000, 700):
            out_a.append(first.encode_step(a[..., start : start + 700]))
            out_b.append(second.encode_step(b[..., start : start + 700]))
        out_a.append(first.flush().codes)
        out_b.append(second.flush().codes)
    assert torch.equal(torch.cat(out_a, -1), first.encode(a))
    assert torch.equal(torch.cat(out_b, -1), second.encode(b))


def test_two_sessions_of_one_model_are_independent() -> None:
    model = causal_codec()
    a, b = signal(1, 1, 3000, seed=33), signal(1, 1, 3000, seed=34)
    one, two = StreamingSession(model), StreamingSession(model)
    codes_a, _ = stream_encode(one, a, chunk_sizes(3000, "random", 512, seed=1))
    codes_b, _ = stream_encode(two, b, chunk_sizes(3000, "hop", 512))
    assert torch.equal(codes_a, model.encode(a)) and torch.equal(codes_b, model.encode(b))
    with model.streaming(), pytest.raises(StreamingError, match="already streaming"):
        model.streaming()


def test_a_stream_belongs_to_the_thread_that_opened_it() -> None:
    model = causal_codec()
    errors: list[BaseException] = []

    def other_thread() -> None:
        try:
            model.encode_step(torch.zeros(1, 1, 10))
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    with model.streaming():
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        model.encode_step(torch.zeros(1, 1, 10))
    assert len(errors) == 1 and isinstance(errors[0], StreamingError)


def test_flush_starts_a_new_stream() -> None:
    model = causal_codec()
    a, b = signal(1, 1, 2 * 512 + 77, seed=35), signal(1, 1, 3 * 512, seed=36)
    session = StreamingSession(model)
    codes_a, _ = stream_encode(session, a, [300, 900])
    codes_b, _ = stream_encode(session, b, [1536])
    assert torch.equal(codes_a, model.encode(a)) and torch.equal(codes_b, model.encode(b))
    decoded = stream_decode(session, codes_b, [1, 2])
    assert torch.allclose(decoded, model.decode(codes_b), atol=1e-6)


def test_the_functional_context_manager_and_errors_are_rvqgan_errors() -> None:
    model = causal_codec()
    with streaming(model, 1) as session:
        assert model.encode_step(torch.zeros(1, 1, 512)).shape == (1, model.n_codebooks, 1)
        assert session.samples_in == 512 and session.frames_out == 1
    assert issubclass(StreamingError, RvqganError)


def test_the_refusal_names_the_bundled_causal_models(tmp_path, monkeypatch) -> None:
    import rvqgan.models
    from rvqgan.checkpoint import save_model

    save_model(causal_codec(), tmp_path / "causal.safetensors", name="causal")
    save_model(Codec(tiny_config()), tmp_path / "default.safetensors", name="default")
    monkeypatch.setattr(rvqgan.models, "MODELS_DIR", tmp_path)
    with pytest.raises(StreamingError, match=r"bundled causal model\(s\) 'causal' \(rvqgan.load_model\('causal'\)\)"):
        Codec(tiny_config()).streaming()
