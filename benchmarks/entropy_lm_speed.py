"""Speed of LM entropy coding alone, per architecture: what the size of the code LM costs.

Random weights (speed does not depend on them), 9 codebooks of 1024 codes at 86.13
frames/s (the 44.1 kHz layout), chunks of 176 frames as in ``.rvq`` files. Reports the
int8 file size, and the real-time factor (audio seconds per wall second, higher is
faster) of coding and decoding one channel, with the BLAS/torch thread count given.

Run::

    python benchmarks/entropy_lm_speed.py --threads 2
"""

from __future__ import annotations

import os
import sys

THREADS = next((int(a.split("=")[1]) for a in sys.argv if a.startswith("--threads=")), 2)
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = str(THREADS)

import time

import numpy as np
import torch

from rvqgan.entropy import CodeLM, CodeLMConfig
from rvqgan.entropy.coder import LMCoder
from rvqgan.entropy.export import export_lm
from rvqgan.entropy.integer_lm import IntegerLM

FRAME_RATE = 44100 / 512
VARIANTS = {
    "encodec (200/5/800), same-frame": {},
    "encodec (200/5/800), no same-frame": {"same_frame": False},
    "200/5/800 + depth block 128": {"depth_dim": 128},
    "128/4/512, same-frame": {"dim": 128, "layers": 4, "ff_dim": 512},
    "256/6/1024, same-frame": {"dim": 256, "layers": 6, "ff_dim": 1024},
}


def main() -> None:
    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    codes = np.random.default_rng(0).integers(0, 1024, size=(1, 9, 176))
    seconds = codes.shape[2] / FRAME_RATE
    print(f"| LM ({THREADS} thread(s)) | parameters | int8 file | encode | decode |\n|---|---|---|---|---|")
    for name, changes in VARIANTS.items():
        config = CodeLMConfig(n_codebooks=9, codebook_size=1024, **changes)
        model = CodeLM(config).eval()
        tensors = export_lm(model, 8)
        coder = LMCoder(IntegerLM(config, tensors), channels=1, n_codebooks=9)
        payload = coder.encode(codes)  # warm-up
        began = time.perf_counter()
        payload = coder.encode(codes)
        middle = time.perf_counter()
        assert np.array_equal(coder.decode(coder.kind, payload, codes.shape[2]), codes)
        ended = time.perf_counter()
        size = sum(v.nbytes for v in tensors.values()) / 1e6
        params = sum(p.numel() for p in model.parameters()) / 1e6
        print(
            f"| {name} | {params:.2f} M | {size:.1f} MB | x{seconds / (middle - began):.1f} "
            f"| x{seconds / (ended - middle):.2f} |"
        )


if __name__ == "__main__":
    main()
