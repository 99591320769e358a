"""``python -m engine.cli``: the same as the ``mi-run`` console script."""

from engine.cli.main import entry

entry()
