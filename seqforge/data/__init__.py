"""Datasets, windowing, scalers (with inverse) and vocabularies.

Loaders and generators here are plain numpy/Python; dataset plugins in
``seqforge/data/base.py`` and ``seqforge/builtins/`` turn them into tensors.
"""
