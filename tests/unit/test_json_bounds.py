"""Request bodies are bounded in depth before they are parsed: a body built to exhaust
the parser's recursion is a 400 malformed-json, never a 500."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import DomainError
from shared.http.body import MAX_JSON_DEPTH, load_json, too_deep


@pytest.mark.parametrize("opener", [b"[", b'{"a":'])
def test_a_hundred_thousand_levels_are_refused_without_recursion(opener: bytes) -> None:
    raw = opener * 100_000
    assert too_deep(raw)
    with pytest.raises(DomainError) as refused:
        load_json(raw)
    assert refused.value.code == "malformed-json"
    assert "deeper than" in str(refused.value)


def test_the_limit_itself_is_accepted_and_one_more_is_not() -> None:
    at_limit = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    assert load_json(at_limit) is not None
    with pytest.raises(DomainError):
        load_json(b"[" + at_limit + b"]")


def test_brackets_inside_strings_and_escapes_do_not_count() -> None:
    raw = json.dumps({"a": "[[[[{{{{" * 100, "b": 'quote \\" [[[ ' * 50}).encode()
    assert not too_deep(raw, 2)
    assert load_json(raw)["a"].startswith("[[[[")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=30,
)


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@given(json_values, st.integers(min_value=0, max_value=6))
def test_the_scan_agrees_with_the_real_depth(value: object, limit: int) -> None:
    raw = json.dumps(value).encode()
    assert too_deep(raw, limit) == (_depth(value) > limit)
