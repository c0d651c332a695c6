"""Check that a test-set manifest and a training-corpus manifest share no source (pure)."""

from __future__ import annotations


class DisjointnessError(RuntimeError):
    """The test set and the training corpus overlap."""


def _parts(row: dict) -> list[dict]:
    return row.get("parts") or [row]


def _report(kind: str, shared: set, out: list[str], limit: int = 5) -> None:
    if shared:
        examples = ", ".join(sorted(map(str, shared))[:limit])
        out.append(f"{len(shared)} shared {kind}: {examples}{' ...' if len(shared) > limit else ''}")


def disjointness_problems(test_rows: list[dict], corpus_rows: list[dict], sources=None) -> list[str]:
    """Everything that makes a test set and a corpus overlap; an empty list means disjoint.

    Checks, each over all rows:
      * the catalogue split of every row's ``source_id`` (when ``sources`` is given): test
        rows must come from ``test`` sources and corpus rows from ``train`` sources;
      * no shared ``source_id`` (package part: voice pack, level, folder, package);
      * no shared original file, by ``(source, source_path)`` and by ``orig_sha256``;
      * no shared decoded audio, by ``audio_sha256``;
      * no test clip whose written file is also a corpus file, by ``sha256``.

    Test rows list their original files in ``parts`` (clips cut from concatenated short
    files have several); corpus rows are one original file each.

    Args:
        test_rows: rows of the test ``manifest.jsonl``.
        corpus_rows: rows of the corpus ``manifest.jsonl``.
        sources: catalogue entries, or None to skip the split check.

    Returns:
        Human-readable problems.
    """
    problems: list[str] = []
    if sources is not None:
        split = {s.id: s.split for s in sources}
        wrong_test = {r["source_id"] for r in test_rows if split.get(r["source_id"]) != "test"}
        wrong_train = {r["source_id"] for r in corpus_rows if split.get(r["source_id"]) != "train"}
        _report("test rows from sources that the catalogue does not mark 'test'", wrong_test, problems)
        _report("corpus rows from sources that the catalogue does not mark 'train'", wrong_train, problems)
    _report("source ids", {r["source_id"] for r in test_rows} & {r["source_id"] for r in corpus_rows}, problems)
    test_paths = {(r["source"], p["source_path"]) for r in test_rows for p in _parts(r)}
    corpus_paths = {(r["source"], r["source_path"]) for r in corpus_rows}
    _report("original files (by package path)", test_paths & corpus_paths, problems)
    for key, what in (("orig_sha256", "original files (by checksum)"), ("audio_sha256", "decoded audio")):
        test_sums = {p[key] for r in test_rows for p in _parts(r) if p.get(key)}
        _report(what, test_sums & {r[key] for r in corpus_rows if r.get(key)}, problems)
    _report("written files (test clip checksum found in the corpus)",
            {r["sha256"] for r in test_rows} & {r["sha256"] for r in corpus_rows}, problems)
    return problems


def check_disjoint(test_rows: list[dict], corpus_rows: list[dict], sources=None) -> None:
    """Raise :class:`DisjointnessError` listing every overlap, if there is any."""
    problems = disjointness_problems(test_rows, corpus_rows, sources)
    if problems:
        raise DisjointnessError("test set and training corpus overlap:\n  " + "\n  ".join(problems))
