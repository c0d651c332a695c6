"""Helpers of the data-building scripts (``scripts/build_testset.py``, ``scripts/build_corpus.py``)."""
