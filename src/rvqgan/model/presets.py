"""Named configurations: the paper's 44.1 kHz model, the official 24/16 kHz variants, small ones."""

from __future__ import annotations

from rvqgan.errors import ConfigError
from rvqgan.model.config import CodecConfig

PRESETS: dict[str, CodecConfig] = {
    # The paper's model (the official "44khz 8kbps" release): 76.7 M parameters, 7.75 kbps.
    "dac_44khz": CodecConfig(),
    # The official "44khz 16kbps" release: latent 128, 18 codebooks, 15.5 kbps.
    "dac_44khz_16kbps": CodecConfig(latent_dim=128, n_codebooks=18),
    # The official 24 kHz release: hop 320, 32 codebooks, 24 kbps.
    "dac_24khz": CodecConfig(
        sample_rate=24000, encoder_rates=(2, 4, 5, 8), decoder_rates=(8, 5, 4, 2), n_codebooks=32
    ),
    # The official 16 kHz release: hop 320, 12 codebooks, 6 kbps.
    "dac_16khz": CodecConfig(
        sample_rate=16000, encoder_rates=(2, 4, 5, 8), decoder_rates=(8, 5, 4, 2), n_codebooks=12
    ),
    # Narrow widths of the paper layout, for CPU training and tests.
    "small_44khz": CodecConfig(encoder_dim=32, decoder_dim=384),
    "tiny_44khz": CodecConfig(encoder_dim=8, decoder_dim=64, n_codebooks=4, codebook_size=256),
}


def preset(name: str) -> CodecConfig:
    """The :class:`CodecConfig` called ``name``; raises :class:`ConfigError` listing the names."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown model preset {name!r}; known presets: {sorted(PRESETS)}") from None
