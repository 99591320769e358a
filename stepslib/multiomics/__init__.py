"""Multiomics step library (``multiomics.*``): omics layers on shared samples to joint factors.

Importing the package registers every step (each module is imported; step modules keep
numpy/pandas/scikit-learn/mofapy2 imports inside their functions, so this stays cheap).
"""

from __future__ import annotations

import importlib
import pkgutil

for _module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")

from stepslib.multiomics._entry import execute_multiomics_workflow  # noqa: E402

__all__ = ["execute_multiomics_workflow"]
