"""Bundled models: trained here, committed with their model cards, found by name.

Each bundled model is ``<name>.safetensors`` (an rvqgan checkpoint) beside this file,
with its card in ``<name>.md``. Nothing is ever downloaded.
"""

from __future__ import annotations

from pathlib import Path

from rvqgan.errors import CheckpointError

MODELS_DIR = Path(__file__).parent
DEFAULT_MODEL = "default"


def available_models() -> list[str]:
    """Names of the bundled models, sorted."""
    # Entropy-model sidecars (NAME.lm / NAME.static) sit beside their codec: not models.
    return sorted(path.stem for path in MODELS_DIR.glob("*.safetensors") if "." not in path.stem)


def bundled_path(name: str) -> Path:
    """The checkpoint file of the bundled model ``name``."""
    path = MODELS_DIR / f"{name}.safetensors"
    if not path.is_file():
        known = ", ".join(available_models()) or "none yet"
        raise CheckpointError(
            f"no bundled model named {name!r} (bundled models: {known}); "
            "pass the path of a checkpoint (.safetensors or official DAC .pth) instead"
        )
    return path
