"""Click parameter types that check integer arguments once, at the command line's edge.

Every integer a user types (a dim, a shape, a sweep value, a seed, a thread
count) is checked here for its digits, sign and range before any of it reaches
onnx (whose dims are int64), numpy or onnxruntime; an out-of-range value is exit
2 naming the option, never an internal error later.  The types return the text
unchanged (``NAME=VALUE`` items) or the integer, so parsing stays where it is.
"""

from __future__ import annotations

import math
import re

import click

from ..runtime.limits import MAX_NODES

#: the largest dim onnx can store (TensorShapeProto.Dimension.dim_value is an int64)
MAX_DIM = 2**63 - 1
#: a seed numpy's generators take (any non-negative integer; bounded to keep messages short)
MAX_SEED = 2**64 - 1
#: more threads than any machine has; onnxruntime stores thread counts as int32
MAX_THREADS = 1024
#: timed or warm-up runs: more than anyone waits for
MAX_RUNS = 10**9
#: a digit string longer than this is refused before ``int()`` sees it
_MAX_DIGITS = 40


def _short(text: str, limit: int = 40) -> str:
    text = str(text)
    return text if len(text) <= limit else f"{text[:limit // 2]}…{text[-8:]} ({len(text)} characters)"


def _dim_problem(part: str, lowest: int = 0) -> str | None:
    """Why ``part`` is not a dim (None when it is one, or when it is not digits at all:
    the syntax is then checked, with its own message, where the value is parsed)."""
    p = part.strip()
    if not p.isdigit() or not p.isascii():
        return None
    if len(p) > _MAX_DIGITS:
        return f"a {len(p)}-digit number is not a dim (the largest is 2^63-1)"
    v = int(p)
    if v > MAX_DIM:
        return f"{v} is larger than the largest dim onnx stores (2^63-1 = {MAX_DIM})"
    if v < lowest:
        return f"{v} is smaller than {lowest}"
    return None


class _Assignment(click.ParamType):
    """``NAME=VALUE`` whose VALUE parts are checked by :meth:`problem`; returns the text as given."""

    split = re.compile(r"[x,]")
    #: the value starts after the first "=" (dim names of a sweep) rather than the last
    first_equals = False

    def problem(self, value: str) -> str | None:
        for part in self.split.split(value.strip().strip("[]()")):
            why = _dim_problem(part)
            if why:
                return why
        return None

    def convert(self, value, param, ctx):
        text = str(value)
        if "=" in text:
            why = self.problem((text.partition if self.first_equals else text.rpartition)("=")[2])
            if why:
                self.fail(f"{_short(text)}: {why}", param, ctx)
        return text


class DimAssignment(_Assignment):
    """``--dim NAME=VALUE``."""

    name = "NAME=VALUE"


class ShapeAssignment(_Assignment):
    """``--input-shape NAME=AxBxC``."""

    name = "NAME=AxBxC"


class SweepAssignment(_Assignment):
    """``--sweep DIM=V1,V2,...``."""

    name = "DIM=V1,V2,..."
    first_equals = True


class ValueAssignment(click.ParamType):
    """``--input-value NAME=V[,V...]``: every value a finite number, integers within int64."""

    name = "NAME=V[,V...]"

    def convert(self, value, param, ctx):
        text = str(value)
        if "=" not in text:
            return text
        for item in text.rpartition("=")[2].split(","):
            t = item.strip()
            if len(t) > _MAX_DIGITS:
                self.fail(f"{_short(text)}: {_short(t, 20)} is too long for a number", param, ctx)
            try:
                v = int(t)
            except ValueError:
                try:
                    f = float(t)
                except ValueError:
                    continue  # not a number: the parser names the syntax
                if not math.isfinite(f):
                    self.fail(f"{_short(text)}: {t} is not a finite number", param, ctx)
                continue
            if not -(2**63) <= v < 2**63:
                self.fail(f"{_short(text)}: {v} does not fit in int64", param, ctx)
        return text


DIM = DimAssignment()
SHAPE = ShapeAssignment()
SWEEP = SweepAssignment()
INPUT_VALUE = ValueAssignment()


class BoundedInt(click.IntRange):
    """click's integer range, refusing over-long digit strings with a short message first."""

    def convert(self, value, param, ctx):
        if isinstance(value, str) and len(value.strip()) > _MAX_DIGITS:
            self.fail(f"{_short(value)} is not an integer in the range {self._describe_range()}", param, ctx)
        return super().convert(value, param, ctx)


def int_range(lo: int | None = 0, hi: int | None = None) -> click.IntRange:
    """A click integer range (click checks digits and sign; ``hi`` bounds the size)."""
    return BoundedInt(min=lo, max=hi)


class ByteSize(click.ParamType):
    """A number of bytes: ``4000000000``, ``4GB``, ``512MiB``, ``1.5G``."""

    name = "BYTES"
    _UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
              "t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            n = value
        else:
            m = re.fullmatch(r"\s*(\d{1,20}(?:\.\d{1,9})?)\s*([a-zA-Z]*)\s*", str(value))
            unit = m and self._UNITS.get(m.group(2).lower())
            if not m or unit is None:
                self.fail(f"{_short(value)}: expected a number of bytes like 4000000000, 4GB or 512MiB", param, ctx)
            n = int(float(m.group(1)) * unit) if "." in m.group(1) else int(m.group(1)) * unit
        if n < 1 or n > 2**63:
            self.fail(f"{_short(value)}: must be between 1 byte and 2^63 bytes", param, ctx)
        return n


BYTES = ByteSize()


def _set_limits(ctx, param, value):
    from ..runtime import limits

    if param.name == "max_tensor_bytes" and value is not None:
        limits.configure(max_tensor_bytes=value)
    elif param.name == "force" and value:
        limits.configure(force=True)
    elif param.name == "max_nodes" and value is not None:
        limits.configure(max_nodes=value)
    return value


def limit_options(fn):
    """``--max-tensor-bytes`` and ``--force``: the budgets of :mod:`onnxstat.runtime.limits` for this run."""
    fn = click.option(
        "--force", is_flag=True, expose_value=False, callback=_set_limits,
        help="Run a model in onnxruntime even when a Loop's trip count times its body is over the time budget.",
    )(fn)
    fn = click.option(
        "--max-nodes", type=int_range(1, None), default=None, expose_value=False, callback=_set_limits,
        metavar="N", help=f"Refuse models with more than N nodes, before parsing [default: {MAX_NODES:,}].",
    )(fn)
    fn = click.option(
        "--max-tensor-bytes", type=BYTES, default=None, expose_value=False, callback=_set_limits, metavar="BYTES",
        help="Refuse to allocate or run with a tensor larger than this [default: a quarter of this machine's memory].",
    )(fn)
    return fn
