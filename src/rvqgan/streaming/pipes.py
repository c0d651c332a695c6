"""Streams through files and pipes: what ``rvqgan encode --stream`` / ``decode --stream`` run.

Encoding reads audio a hop at a time (a WAV stream on stdin, or any audio file),
resamples it to the model's rate as it comes, codes it with a :class:`StreamingSession`
and writes ``.rvq`` chunks as frames complete. Decoding reads ``.rvq`` chunk by chunk
(from a pipe too), decodes each as it arrives and writes audio out. Memory stays
bounded by a chunk whatever the stream's length.

The ``.rvq`` written is an ordinary file: its header carries no length (it is not
known in advance), its end record carries the input's length, and the ordinary
``rvqgan decode`` reads it. Chunks: on a pipe every frame is flushed as its own chunk
by default (lowest latency, 11 bytes of overhead a frame: see docs/streaming.md);
``flush_every`` trades latency for size.

Lengths on decoding. The last frame holds the zero-padded end of the input. Written to
a file, the audio has the input's exact length (the newest frame is held back until
the next chunk or the end record says whether it is the last). Written to a pipe,
audio goes out as soon as it is decoded, so the length is exact only when the header
knows it; otherwise the last frame comes out whole (up to one hop of decoded padding).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import BinaryIO

import numpy as np
import torch

from rvqgan.audio import AudioWriter, Resampler, audio_info, iter_audio_blocks, resampled_length
from rvqgan.audio.bandwidth import BandLimiter
from rvqgan.bitstream import RvqHeader, RvqReader, RvqWriter
from rvqgan.checkpoint import model_hash
from rvqgan.errors import BitstreamError, RvqganError
from rvqgan.model.codec import Codec
from rvqgan.streaming.session import StreamingSession, require_causal
from rvqgan.streaming.wavio import WavPipeReader, WavPipeWriter

STDIO = "-"


@dataclass(frozen=True)
class PipeResult:
    """What a streamed encode or decode did.

    Attributes:
        frames: code frames written (encode) or decoded (decode).
        samples: audio samples per channel read (encode) or written (decode), at the
            audio's own rate.
        sample_rate: that rate.
        channels: audio channels.
    """

    frames: int
    samples: int
    sample_rate: int
    channels: int


class _AudioSource:
    """Float32 blocks [C, n] at the source's rate, about one hop at a time."""

    def __init__(self, source: str, model: Codec, stdin: BinaryIO | None) -> None:
        if source == STDIO:
            self._wav: WavPipeReader | None = WavPipeReader(stdin or sys.stdin.buffer)
            self.sample_rate, self.channels = self._wav.sample_rate, self._wav.channels
            self._blocks: Iterator[np.ndarray] | None = None
        else:
            info = audio_info(source)
            self._wav, self.sample_rate, self.channels = None, info.sample_rate, info.channels
            self._blocks = iter_audio_blocks(source, None, block_seconds=model.hop_length / model.sample_rate)
        self._hop = max(1, -(-model.hop_length * self.sample_rate // model.sample_rate))

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._blocks is not None:
            yield from self._blocks
            return
        while True:
            block = self._wav.read(self._hop)
            if not block.shape[1]:
                return
            yield block


def _identity(model: Codec) -> SimpleNamespace:
    """The codec facts an ``.rvq`` header needs, with the weights' hash."""
    facts = ("sample_rate", "hop_length", "n_codebooks", "codebook_size", "frame_rate")
    return SimpleNamespace(
        name=model.name, content_hash=model.content_hash or model_hash(model), **{f: getattr(model, f) for f in facts}
    )


def encode_pipe(
    model: Codec,
    source: str,
    target: str,
    *,
    n_quantizers: int | None = None,
    flush_every: int | None = None,
    overwrite: bool = False,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
) -> PipeResult:
    """Encode ``source`` (a path, or ``"-"``: a WAV stream on stdin) to ``.rvq`` at ``target`` (path or ``"-"``).

    Args:
        model: a causal codec.
        n_quantizers: codebooks to keep (default all).
        flush_every: write a chunk every this many frames; default 1 on stdout (live),
            whole chunks of the header's length for a file.
        overwrite: replace an existing target file.
        stdin, stdout: binary streams standing for ``"-"`` (default ``sys.stdin.buffer``...).

    Raises:
        StreamingError: the model is not causal. AudioError: unreadable input.
    """
    require_causal(model)
    n = model.quantizer.check_n_quantizers(n_quantizers)
    audio = _AudioSource(source, model, stdin)
    header = RvqHeader.from_codec(
        _identity(model),
        channels=audio.channels,
        original_sample_rate=audio.sample_rate,
        original_length=None,
        n_codebooks=n,
    )
    if flush_every is None:
        flush_every = 1 if target == STDIO else header.chunk_frames
    session = StreamingSession(model, 1, channels=audio.channels, n_quantizers=n)
    resampler = Resampler(audio.sample_rate, model.sample_rate, audio.channels)
    sink = (stdout or sys.stdout.buffer) if target == STDIO else Path(target)
    frames, unflushed, samples = 0, 0, 0
    with RvqWriter(sink, header, overwrite=overwrite) as writer:

        def write(codes: torch.Tensor) -> None:
            nonlocal frames, unflushed
            writer.write_chunk(codes)
            frames += codes.shape[-1]
            unflushed += codes.shape[-1]
            if unflushed >= flush_every:
                writer.flush()
                unflushed = 0

        for block in audio:
            samples += block.shape[1]
            write(session.encode_step(torch.from_numpy(resampler.process(block))[None]))
        write(session.encode_step(torch.from_numpy(resampler.flush())[None]))
        write(session.flush().codes)
        writer.close(original_length=samples)
    return PipeResult(frames, samples, audio.sample_rate, audio.channels)


class _AudioSink:
    """Audio out at the file's rate: a file (exact length) or a WAV stream (live)."""

    def __init__(self, target: str, header: RvqHeader, overwrite: bool, stdout: BinaryIO | None) -> None:
        rate, channels = header.original_sample_rate, header.channels
        self.live = target == STDIO
        if self.live:
            self._writer: WavPipeWriter | AudioWriter = WavPipeWriter(stdout or sys.stdout.buffer, rate, channels)
        else:
            self._writer = AudioWriter(target, rate, channels, overwrite=overwrite)
        self.written = 0

    def write(self, block: np.ndarray) -> None:
        self._writer.write(block)
        self.written += block.shape[1]

    def close(self) -> None:
        self._writer.close()

    def abort(self) -> None:
        if isinstance(self._writer, AudioWriter):
            self._writer.abort()


def one_thread() -> None:
    """Run this process's torch operations on one CPU thread.

    A frame's operations are small (a few microseconds to a millisecond each): split
    over threads they spend more time synchronising than computing, and on a busy
    machine spinning threads make a stream several times slower than real time. For
    the command line, which owns its process; library users choose for themselves.
    """
    torch.set_num_threads(1)


def stdout_closed() -> RvqganError:
    """The error for a reader that went away (``BrokenPipeError``); stdout is pointed at
    /dev/null so that Python's final flush does not print a second traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
    return RvqganError("the output pipe was closed before the stream ended")


def _fit(block: np.ndarray, n: int) -> np.ndarray:
    """Trim or zero-pad [C, m] to [C, max(n, 0)]."""
    n = max(n, 0)
    if block.shape[1] >= n:
        return block[:, :n]
    return np.concatenate([block, np.zeros((block.shape[0], n - block.shape[1]), block.dtype)], axis=1)


def decode_pipe(
    model: Codec, reader: RvqReader, target: str, *, overwrite: bool = False, stdout: BinaryIO | None = None
) -> PipeResult:
    """Decode an open ``.rvq`` stream to audio at ``target`` (a path, or ``"-"``: WAV on stdout).

    ``model`` must be the causal codec the header names (the caller checks the match).
    A stream cut short or damaged: every chunk before the damage is decoded and written
    (the output is kept), then the :class:`BitstreamError` is raised. A header with a
    ``bandwidth_hz`` (a file compressed offline) gets its low-pass here too, which holds
    back ``TAPS // 2`` samples (2.9 ms at 44.1 kHz) until the next block or the end.
    """
    require_causal(model)
    header = reader.header
    rate, model_rate = header.original_sample_rate, model.sample_rate
    known = header.original_length
    model_length = None if known is None else resampled_length(known, rate, model_rate)
    session = StreamingSession(model, 1, channels=header.channels)
    resampler = Resampler(model_rate, rate, header.channels, length=known)
    sink = _AudioSink(target, header, overwrite, stdout)
    limiter = None if header.bandwidth_hz is None else BandLimiter(model_rate, header.bandwidth_hz, header.channels)

    def emit(block: np.ndarray) -> None:
        if limiter is not None:
            block = limiter.process(torch.from_numpy(block)).numpy()
        sink.write(resampler.process(block))

    hold = not sink.live and model_length is None
    held, decoded, frames, cut = None, 0, 0, None
    try:
        try:
            for codes in reader:
                audio = session.decode_step(torch.from_numpy(codes))[0].numpy()
                frames += codes.shape[-1]
                if model_length is not None:
                    audio = audio[:, : max(model_length - decoded, 0)]
                decoded += audio.shape[1]
                if hold:
                    audio, held = held, audio
                if audio is not None:
                    emit(audio)
        except BitstreamError as exc:
            cut = exc
        end = reader.end
        if held is not None:
            if end is not None and end.original_length is not None:
                want = resampled_length(end.original_length, rate, model_rate)
                held = held[:, : held.shape[1] - max(decoded - want, 0)]
            emit(held)
        if limiter is not None:
            sink.write(resampler.process(limiter.flush().numpy()))
        tail = resampler.flush()
        if known is None and end is not None and end.original_length is not None and not sink.live:
            tail = _fit(tail, end.original_length - sink.written)
        sink.write(tail)
    except BaseException:
        sink.abort()
        raise
    sink.close()
    if cut is not None:
        seconds = sink.written / rate
        where = "standard output" if sink.live else target
        raise BitstreamError(f"{cut} -- the {seconds:.2f} s decoded before it were written to {where}")
    return PipeResult(frames, sink.written, rate, header.channels)
