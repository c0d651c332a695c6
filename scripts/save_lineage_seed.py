"""Keep a training lineage's head in git: the weights a new machine needs to go on.

A run folder lives outside git (``~/rvqgan-runs/...``) and is lost with its machine. This
copies, from the run's newest checkpoint, what ``schedule.init_from`` reads (``state.json``,
``generator.safetensors``, ``discriminator.safetensors``: about 8 MB for the default
recipe) into a folder of the repository. The optimizers' moments are left out: with the
recipe's betas (0.8, 0.9) they rebuild within tens of steps. Resume on a new machine with

    rvqgan train configs/default_cpu.yaml --run-dir RUN --set schedule.init_from=lineage/default \\
        --set schedule.init_step=STEP [the run's other --set options]

where STEP is the step printed here (also ``step`` in the copied ``state.json``).

Usage: python scripts/save_lineage_seed.py RUN_DIR [-o lineage/default]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from rvqgan.train.state import find_checkpoint

FILES = ("state.json", "generator.safetensors", "discriminator.safetensors")


def save_seed(run_dir: Path, out: Path) -> int:
    """Copy the seed of ``run_dir``'s newest checkpoint to ``out`` (replaced whole); its step."""
    folder = find_checkpoint(run_dir)
    if folder is None:
        raise SystemExit(f"{run_dir}: no checkpoint to keep")
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        raise SystemExit(f"{folder}: missing {', '.join(missing)}")
    step = int(json.loads((folder / "state.json").read_text())["step"])
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in FILES:
        shutil.copy2(folder / name, tmp / name)
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return step


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="the run folder (its newest checkpoint is kept)")
    parser.add_argument("-o", "--out", type=Path, default=Path("lineage/default"), help="where (replaced)")
    args = parser.parse_args(argv)
    step = save_seed(args.run_dir, args.out)
    print(f"kept step {step} of {args.run_dir} in {args.out}: resume with "
          f"--set schedule.init_from={args.out} --set schedule.init_step={step}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
