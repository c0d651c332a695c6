"""Codes of a corpus, computed once per codec and cached on disk.

Training the code LM needs the codec's codes of every training item; computing them is
the slow part (one encoder pass over hours of audio), so each item is encoded once and
kept as ``<cache>/<codec hash[:16]>/<sha1 of path>.npy`` (int16 ``[K, frames]``, all of
the codec's codebooks; fewer are a prefix). The codec's hash in the folder name means
a retrained codec never reuses stale codes. Items are written atomically one by one, so
an interrupted tokenization resumes where it stopped.

Items are mixed to mono: the codec codes each channel as its own mono signal, and a
mono mix is a typical such signal.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from rvqgan.errors import InputError, RvqganError


@dataclass(frozen=True)
class CodedItem:
    """One corpus item and its cached codes.

    Attributes:
        path: the audio file.
        domain: its domain label from the manifest.
        group: what keeps train and validation apart (the manifest's ``source_id``,
            else the path).
        codes_path: the ``.npy`` file of its codes.
    """

    path: str
    domain: str
    group: str
    codes_path: Path

    def load(self) -> np.ndarray:
        """Codes int16 ``[K, frames]``."""
        return np.load(self.codes_path, allow_pickle=False)


def read_items(manifest: str | os.PathLike, limit: int | None = None) -> list[dict]:
    """Entries of a JSON-lines manifest (``path`` relative to its folder), at most ``limit``.

    With a limit, entries are taken evenly over the manifest so every part is sampled.
    """
    manifest = Path(manifest)
    if not manifest.is_file():
        raise InputError(f"manifest {manifest} not found")
    entries = []
    for number, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            path = Path(entry["path"])
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{manifest}:{number}: not a manifest entry with a path ({exc})") from None
        entries.append(
            {
                "path": str(path if path.is_absolute() else (manifest.parent / path).resolve()),
                "domain": str(entry.get("domain", "unknown")),
                "group": str(entry.get("source_id") or entry.get("source") or entry["path"]),
            }
        )
    if limit is not None and limit < len(entries):
        entries = [entries[i * len(entries) // limit] for i in range(limit)]
    return entries


def _encode(codec, path: str, max_seconds: float | None) -> np.ndarray:
    from rvqgan.audio import read_audio
    from rvqgan.inference import encode_long

    audio, _ = read_audio(path, codec.sample_rate)
    mono = audio.mean(axis=0, keepdims=True)
    if max_seconds is not None:
        mono = mono[:, : int(max_seconds * codec.sample_rate)]
    with torch.inference_mode():
        codes = encode_long(codec, torch.from_numpy(np.ascontiguousarray(mono)))
    return codes[0].numpy().astype(np.int16)


def tokenize(
    codec,
    entries: list[dict],
    cache_dir: str | os.PathLike,
    *,
    max_seconds: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[CodedItem]:
    """Encode every entry once (skipping those already cached); return the coded items.

    Args:
        codec: the loaded codec (its ``content_hash`` names the cache folder).
        entries: from :func:`read_items`.
        cache_dir: root of the cache.
        max_seconds: cut items to this length before encoding (``None``: whole).
        progress: called with a line now and then.

    Unreadable items are skipped with a message (a corpus may hold a few bad files).
    """
    if codec.codebook_size > 1 << 15:
        raise InputError("codes are cached as int16: codebook_size must be <= 32768")
    folder = Path(cache_dir) / (codec.content_hash or "unhashed")[:16]
    folder.mkdir(parents=True, exist_ok=True)
    items, new, failed = [], 0, 0
    for number, entry in enumerate(entries, 1):
        key = hashlib.sha1(f"{entry['path']}|{max_seconds}".encode()).hexdigest()
        target = folder / f"{key}.npy"
        if not target.is_file():
            try:
                codes = _encode(codec, entry["path"], max_seconds)
            except RvqganError as exc:
                failed += 1
                if progress:
                    progress(f"skipped {entry['path']}: {exc}")
                continue
            temp = target.with_name(f".{target.name}.partial-{os.getpid()}")
            with open(temp, "wb") as handle:
                np.save(handle, codes, allow_pickle=False)
            os.replace(temp, target)
            new += 1
        items.append(CodedItem(entry["path"], entry["domain"], entry["group"], target))
        if progress and (number % 200 == 0 or number == len(entries)):
            progress(f"tokenized {number}/{len(entries)} items ({new} new, {failed} skipped)")
    return items


def split_items(items: list[CodedItem], valid_fraction: float) -> tuple[list[CodedItem], list[CodedItem]]:
    """Train / validation split by group (a stable hash), so no source is in both."""
    if not 0.0 <= valid_fraction < 1.0:
        raise InputError(f"valid_fraction must be in [0, 1), got {valid_fraction}")
    train, valid = [], []
    for item in items:
        digest = int(hashlib.sha1(item.group.encode()).hexdigest()[:8], 16) / 0xFFFF_FFFF
        (valid if digest < valid_fraction else train).append(item)
    if valid_fraction > 0 and not valid and len(train) > 1:
        valid.append(train.pop())  # tiny corpora: keep at least one validation item
    return train, valid
