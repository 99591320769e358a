"""Suite-wide set-up: shared helpers live in the ``tests.helpers`` package, not in conftests."""

import pytest

# tests.helpers.contract holds test methods and the helpers assert: rewrite their asserts
# as pytest does for test modules (must run before anything imports them).
pytest.register_assert_rewrite("tests.helpers")


@pytest.fixture(autouse=True, scope="session")
def _private_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The engine keeps "this spec is valid" verdicts under $XDG_CACHE_HOME/mi-run: the suite
    keeps them in a temporary directory instead of the user's home."""
    import os

    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
