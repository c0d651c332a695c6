"""The evaluation test set: a JSON-lines manifest of clips, read as mono float arrays."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from rvqgan.errors import AudioError, InputError
from rvqgan.eval.metrics import resample

DOMAINS = ("speech", "music", "environmental")


@dataclass(frozen=True)
class Clip:
    """One test clip.

    Attributes:
        id: its path relative to the manifest folder (unique within a test set).
        path: absolute path of the audio file.
        domain: ``speech``, ``music`` or ``environmental``.
        full_band: whether it has content up to ~18 kHz or more.
        duration: seconds, as the manifest says.
    """

    id: str
    path: Path
    domain: str
    full_band: bool = False
    duration: float = 0.0


def load_testset(manifest: str | Path, domains: Sequence[str] | None = None, limit: int | None = None) -> list[Clip]:
    """Clips of a manifest, in its order.

    Args:
        manifest: JSON lines, each with at least ``path`` (relative to the manifest's
            folder) and ``domain``; ``full_band`` and ``duration`` are read if present.
        domains: keep only these domains (default all).
        limit: keep at most this many clips *per domain*, spread evenly over the
            domain's clips in manifest order (every k-th), so that a limited run stays
            balanced across domains and still samples all their sources.
    """
    manifest = Path(manifest)
    if not manifest.is_file():
        raise InputError(f"test set manifest {manifest} does not exist; build the test set first")
    unknown = sorted(set(domains or ()) - set(DOMAINS))
    if unknown:
        raise InputError(f"unknown domain(s) {unknown}; choose from {list(DOMAINS)}")
    clips: list[Clip] = []
    for number, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            clip = Clip(
                id=str(item["path"]),
                path=(manifest.parent / item["path"]).resolve(),
                domain=str(item["domain"]),
                full_band=bool(item.get("full_band", False)),
                duration=float(item.get("duration", 0.0)),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{manifest}:{number}: not a manifest entry with path and domain ({exc})") from None
        if not domains or clip.domain in domains:
            clips.append(clip)
    if len({c.id for c in clips}) != len(clips):
        raise InputError(f"{manifest} lists a clip path twice; clip paths must be unique")
    return clips if limit is None else spread(clips, limit)


def spread(clips: Sequence[Clip], per_domain: int) -> list[Clip]:
    """At most ``per_domain`` clips of each domain, evenly spaced in the given order (clip
    ``floor(i * n / per_domain)`` of the domain's ``n``), kept in that order."""
    if per_domain < 1:
        raise InputError(f"the clip limit per domain must be at least 1, got {per_domain}")
    by_domain: dict[str, list[int]] = {}
    for index, clip in enumerate(clips):
        by_domain.setdefault(clip.domain, []).append(index)
    keep = set()
    for indices in by_domain.values():
        n, k = len(indices), min(per_domain, len(indices))
        keep.update(indices[i * n // k] for i in range(k))
    return [clip for index, clip in enumerate(clips) if index in keep]


def read_clip(clip: Clip | str | Path, sample_rate: int = 44100, max_seconds: float | None = None) -> np.ndarray:
    """A clip as a mono float32 (T,) array at ``sample_rate`` (channels averaged).

    Args:
        clip: a :class:`Clip` or a path.
        sample_rate: rate to resample to.
        max_seconds: keep only the first seconds (for quick runs).
    """
    path = clip.path if isinstance(clip, Clip) else Path(clip)
    try:
        data, rate = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise AudioError(f"cannot read test clip {path}: {exc}") from None
    mono = data.mean(axis=1)
    if max_seconds is not None:
        mono = mono[: int(max_seconds * rate)]
    if mono.size == 0:
        raise AudioError(f"test clip {path} is empty")
    return resample(mono, rate, sample_rate)
