"""Suite-wide set-up: shared helpers live in the ``tests.helpers`` package, not in conftests."""

import pytest

# tests.helpers.contract holds test methods and the helpers assert: rewrite their asserts
# as pytest does for test modules (must run before anything imports them).
pytest.register_assert_rewrite("tests.helpers")
