"""The worked example of docs/adding-an-op.md (a built-in op: handler, shape rule,
one-node test) runs as written, in the module the page puts it in.

The page's blocks are executed in a copy of that module's namespace (the names the
module already has: register, shape_rule, known, MS, PE, ...); the op is taken out of
the registry again afterwards, so the built-in ops stay what they are.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import op_handlers.microsoft.contrib as contrib
from op_handlers import REGISTRY

DOC = Path(__file__).resolve().parent.parent / "docs" / "adding-an-op.md"


def block(first_line: str) -> str:
    """The page's python block whose first line starts with ``first_line``."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    (found,) = [b for b in blocks if b.startswith(first_line)]
    return found


@pytest.fixture
def bias_split_gelu():
    assert REGISTRY.lookup("com.microsoft", "BiasSplitGelu") is None, "the example is a built-in op now: pick another"
    ns = dict(vars(contrib))
    try:
        for first in ("# op_handlers/microsoft/contrib.py, in the Gelu family",
                      "# op_handlers/microsoft/contrib.py, in the shape rules"):
            exec(compile(block(first), str(DOC), "exec"), ns)  # noqa: S102 - the page's own code
        yield ns
    finally:
        while (entry := REGISTRY.lookup("com.microsoft", "BiasSplitGelu")) is not None:
            REGISTRY.remove(entry)


def test_the_worked_example_counts_and_its_test_passes(bias_split_gelu):
    entry = REGISTRY.lookup("com.microsoft", "BiasSplitGelu")
    assert entry.fn is bias_split_gelu["bias_split_gelu"]
    assert entry.shape_rule is bias_split_gelu["_bias_split_gelu_shape"]
    test_ns: dict = {}
    exec(compile(block("import numpy as np"), str(DOC), "exec"), test_ns)  # noqa: S102
    test_ns["test_bias_split_gelu"]()


def test_the_worked_example_is_gone_afterwards():
    assert REGISTRY.lookup("com.microsoft", "BiasSplitGelu") is None
