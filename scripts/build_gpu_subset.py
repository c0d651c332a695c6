"""Pack a domain-balanced part of the training corpus small enough to travel to a lent GPU.

A call to the GPU machine carries at most 64 MiB (docs/training.md, "On a lent GPU"). The
corpus is 26.6 hours of FLAC (3.6 GB); as Ogg Vorbis at about 70 kbps (libsndfile's
compression level 0.5, SNR about 30 dB, far above what a 7.75 kbps codec resolves) one MiB
holds about two minutes. Each part takes the same number of minutes from every domain,
drawn at random, and leaves out the files that earlier parts took, so that the parts sent
in successive calls add up:

    python scripts/build_gpu_subset.py data/corpus/manifest.jsonl -o gpu/part_a --minutes 11 --seed 1
    python scripts/build_gpu_subset.py data/corpus/manifest.jsonl -o gpu/part_b --minutes 11 --seed 2 \
        --exclude gpu/part_a/manifest.jsonl

Each part is a folder of ``.ogg`` files and a ``manifest.jsonl`` (domain, full_band, weight of
the original entries) that ``rvqgan prepare`` reads on the GPU machine.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import soundfile

BLOCK = 65536  # libsndfile's Vorbis writer crashes on very long single writes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("manifest", type=Path, help="the corpus manifest (scripts/build_corpus.py)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="folder to create")
    parser.add_argument("--minutes", type=float, required=True, help="minutes per domain")
    parser.add_argument("--exclude", type=Path, nargs="*", default=[], help="manifests of earlier parts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--level", type=float, default=0.5, help="Vorbis compression level, 0 (best) to 1")
    args = parser.parse_args(argv)

    if args.output.exists():
        raise SystemExit(f"{args.output} exists; choose a new folder")
    taken = {json.loads(line)["source"] for m in args.exclude for line in m.read_text().splitlines() if line.strip()}
    rows = [json.loads(line) for line in args.manifest.read_text().splitlines() if line.strip()]
    rng = random.Random(args.seed)
    rng.shuffle(rows)
    budget = {row["domain"]: args.minutes * 60 for row in rows}
    args.output.mkdir(parents=True)
    entries = []
    for row in rows:
        if row["path"] in taken or budget[row["domain"]] <= 0:
            continue
        audio, rate = soundfile.read(args.manifest.parent / row["path"], dtype="float32", always_2d=True)
        name = f"{row['domain']}/{len(entries):05d}.ogg"
        (args.output / name).parent.mkdir(exist_ok=True)
        with soundfile.SoundFile(args.output / name, "w", rate, audio.shape[1], format="OGG", subtype="VORBIS",
                                 compression_level=args.level) as out:
            for start in range(0, len(audio), BLOCK):
                out.write(audio[start:start + BLOCK])
        budget[row["domain"]] -= len(audio) / rate
        entries.append({"path": name, "source": row["path"], "domain": row["domain"],
                        "full_band": row.get("full_band", False), "weight": row.get("weight", 1.0)})
    (args.output / "manifest.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries))
    size = sum(p.stat().st_size for p in args.output.rglob("*.ogg"))
    print(f"{len(entries)} files, {sum(args.minutes * 60 - b for b in budget.values()) / 60:.1f} min, "
          f"{size / 2**20:.1f} MiB in {args.output}")


if __name__ == "__main__":
    main()
