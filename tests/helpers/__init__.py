"""Plain helpers shared by the tests: ``from tests.helpers.<area> import ...``.

Fixtures stay in the ``conftest.py`` files (which may import from here); nothing here is a
fixture and no test imports from a conftest. Keep this package free of pytest-only imports
at package level: worker processes import ``tests.helpers.exec_steps`` by name.
"""
