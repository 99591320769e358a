"""Core steps needing no domain knowledge: files, tables, plots, JSON reports.

Importing this package registers ``core.concat``, ``core.table_*``, ``core.plot`` and
``core.json_to_table``. pandas and matplotlib are imported only when a step runs.
"""

from stepslib.core import files, jsonflat, plot, tables

__all__ = ["files", "jsonflat", "plot", "tables"]
