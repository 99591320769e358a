"""RNA step library: the amalgkit transcriptome workflow (``rna.*`` steps).

Importing the package registers every step: each module of the package is imported (step
modules keep pandas/numpy imports inside their functions, so this stays cheap). Modules are
found with ``pkgutil`` so that step modules can be added without editing this file.
"""

from __future__ import annotations

import importlib
import pkgutil

for _module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")

from stepslib.rna._entry import execute_amalgkit_workflow  # noqa: E402

__all__ = ["execute_amalgkit_workflow"]
