"""The package's top-level names: every exported name resolves, and __all__ lists exactly them."""

from __future__ import annotations

import pytest

import rvqgan


def test_all_lists_exactly_the_lazy_exports():
    assert sorted(rvqgan.__all__) == sorted(rvqgan._EXPORTS)
    for name in rvqgan.__all__:
        assert getattr(rvqgan, name) is not None


def test_an_unknown_name_raises_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        rvqgan.nope  # noqa: B018
