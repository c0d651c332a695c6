"""The command line: `python -m rvqgan.train` trains, and Ctrl-C stops it cleanly with a checkpoint."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import yaml

from rvqgan.train.state import CheckpointStore
from tests.train.helpers import TINY

SRC = Path(__file__).parents[2] / "src"


def test_ctrl_c_on_the_process_group_checkpoints_and_exits_0(piano_cache, tmp_path):
    recipe = {**TINY, "data": {**TINY["data"], "cache": str(piano_cache), "num_workers": 1}}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(recipe))
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "rvqgan.train", str(tmp_path / "tiny.yaml"), "--run-dir", str(tmp_path / "run"),
               "--set", "schedule.max_steps=100000"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    output = []
    for line in process.stdout:
        output.append(line)
        if "step 3/" in line:
            # What a terminal does on Ctrl-C: SIGINT to every process of the group, workers included.
            os.killpg(process.pid, signal.SIGINT)
            break
    output.extend(process.stdout)
    assert process.wait(timeout=120) == 0, "".join(output)[-3000:]
    text = "".join(output)
    assert "stopped by a signal" in text and "Traceback" not in text
    folder = CheckpointStore(tmp_path / "run").latest()
    assert folder is not None and int(folder.name.split("_")[1]) >= 3
    assert "stopped by a signal" in (tmp_path / "run" / "train.log").read_text()
