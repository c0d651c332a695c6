"""Planning batch jobs for encode/decode: inputs (files or folders) -> output paths, tree mirrored."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from rvqgan.errors import RvqganError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff")


@dataclass(frozen=True)
class Job:
    """One file to process."""

    source: Path
    target: Path


@dataclass
class Outcome:
    """What happened to the jobs of one command, for the closing summary."""

    done: list[Job] = field(default_factory=list)
    failed: list[tuple[Job, str]] = field(default_factory=list)

    def summary(self, verb: str) -> str:
        lines = [f"{verb} {len(self.done)} file(s); {len(self.failed)} failed"]
        if len(self.done) <= 10:
            lines += [f"  {job.source} -> {job.target}" for job in self.done]
        for job, reason in self.failed:
            lines.append(f"  FAILED {job.source}: {reason}")
        return "\n".join(lines)


def plan_jobs(inputs: list[str], output: str, suffixes: tuple[str, ...], new_suffix: str) -> list[Job]:
    """Map inputs to outputs.

    A single input file with an output that is not an existing folder (and does not end
    in a path separator) maps to that output file. Otherwise the output is a folder:
    a file input ``x.flac`` becomes ``OUT/x<new_suffix>``, and a folder input is walked
    recursively (files with one of ``suffixes``) with its tree mirrored under ``OUT``.
    """
    if not inputs:
        raise RvqganError("no input given")
    paths = [Path(p) for p in inputs]
    for path in paths:
        if not path.exists():
            raise RvqganError(f"input not found: {path}")
    out = Path(output)
    single_file = len(paths) == 1 and paths[0].is_file()
    if single_file and not out.is_dir() and not output.endswith(os.sep):
        return [Job(paths[0], out)]
    jobs: list[Job] = []
    for path in paths:
        if path.is_file():
            jobs.append(Job(path, out / (path.stem + new_suffix)))
            continue
        for found in sorted(path.rglob("*")):
            if found.is_file() and found.suffix.lower() in suffixes:
                relative = found.relative_to(path)
                jobs.append(Job(found, out / relative.with_suffix(new_suffix)))
    targets = [job.target for job in jobs]
    if len(set(targets)) != len(targets):
        raise RvqganError("two inputs would be written to the same output; give them separate folders")
    return jobs
