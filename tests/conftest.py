import pytest

# Assertions in the shared test support report their operands like those in tests.
pytest.register_assert_rewrite("tests.support")

pytest_plugins = ["shared.testing.fixtures"]
