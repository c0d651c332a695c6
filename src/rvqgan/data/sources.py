"""Where training audio comes from: folders searched recursively, or JSON Lines manifests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rvqgan.data.config import SourceConfig
from rvqgan.errors import ConfigError

# Suffixes libsndfile (soundfile) decodes; anything else in a folder is ignored.
AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".au", ".w64"})


@dataclass(frozen=True)
class SourceFile:
    """One audio file to prepare, with its sampling labels.

    Attributes:
        path: absolute path of the file.
        domain: sampling domain ("speech", "music", "environmental", ...).
        full_band: whether it has energy up to Nyquist (balanced into every batch).
        weight: relative sampling weight inside its domain.
    """

    path: str
    domain: str
    full_band: bool = False
    weight: float = 1.0


def list_source(source: SourceConfig) -> list[SourceFile]:
    """The files of one source, in a stable (sorted) order.

    Raises:
        ConfigError: the path does not exist, or a manifest line is malformed.
    """
    path = Path(source.path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
        return [SourceFile(str(p.resolve()), source.domain, source.full_band, source.weight) for p in files]
    if path.is_file():
        return read_manifest(path)
    raise ConfigError(f"data source {path} does not exist; give a folder of audio files or a .jsonl manifest")


def read_manifest(path: str | Path) -> list[SourceFile]:
    """Read a JSON Lines manifest: one object per file; extra keys are ignored.

    Required key: ``path`` (relative paths are taken from the manifest's folder).
    Optional: ``domain`` (default "music"), ``full_band`` (false), ``weight`` (1.0).
    """
    path = Path(path)
    files = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{number}: not valid JSON ({exc})") from exc
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise ConfigError(f"{path}:{number}: each line must be an object with a string 'path'")
        file_path = Path(entry["path"])
        if not file_path.is_absolute():
            file_path = path.parent / file_path
        weight = entry.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
            raise ConfigError(f"{path}:{number}: weight must be a number >= 0, got {weight!r}")
        files.append(
            SourceFile(
                path=str(file_path.resolve()),
                domain=str(entry.get("domain", "music")),
                full_band=bool(entry.get("full_band", False)),
                weight=float(weight),
            )
        )
    return files


def list_sources(sources: tuple[SourceConfig, ...] | list[SourceConfig]) -> list[SourceFile]:
    """All files of all sources, duplicates (same path) kept once (first wins)."""
    seen: set[str] = set()
    files = []
    for source in sources:
        for item in list_source(source):
            if item.path not in seen:
                seen.add(item.path)
                files.append(item)
    return files
