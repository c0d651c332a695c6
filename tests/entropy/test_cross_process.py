"""A file entropy-coded in one process with 1 thread decodes in a fresh process with 2 threads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import REAL_CLIP

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import hashlib, json, sys
    import numpy as np, torch
    threads, action, codec, folder = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    torch.set_num_threads(threads)
    import rvqgan
    from rvqgan.bitstream import RvqReader
    from rvqgan.entropy import decoder_for
    model = rvqgan.load_model(codec)
    lm = model.entropy_models.get("lm").model
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 64, size=(3, 4, 70))
    # Tables of several streams at once in one process, one stream at a time in the other.
    if threads == 1:
        freqs = lm.frequencies(codes)
    else:
        freqs = np.concatenate([lm.frequencies(codes[i : i + 1]) for i in range(3)])
    digest = hashlib.sha256(freqs.tobytes()).hexdigest()
    out = {"threads": torch.get_num_threads(), "tables": digest}
    if action == "encode":
        rvqgan.compress(model, sys.argv[5], folder + "/lm.rvq", entropy="lm")
        rvqgan.compress(model, sys.argv[5], folder + "/none.rvq")
    else:
        decoded = []
        for name in ("lm", "none"):
            with RvqReader(folder + f"/{name}.rvq") as reader:
                reader.chunk_decoder = decoder_for(reader.header, model)
                decoded.append(np.concatenate(list(reader), axis=2))
        out["codes_equal"] = bool(np.array_equal(*decoded))
        out["frames"] = int(decoded[0].shape[2])
    print(json.dumps(out))
    """
)


def _run(threads: int, action: str, codec: Path, folder: Path) -> dict:
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(threads), action, str(codec), str(folder), str(REAL_CLIP)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_encode_with_one_thread_decode_with_two_in_fresh_processes(codec_dir, tmp_path):
    codec = codec_dir / "tiny.safetensors"
    first = _run(1, "encode", codec, tmp_path)
    second = _run(2, "decode", codec, tmp_path)
    assert (first["threads"], second["threads"]) == (1, 2)
    assert second["codes_equal"] and second["frames"] > 200
    assert first["tables"] == second["tables"]  # batched in one process = one by one in the other
