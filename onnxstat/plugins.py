"""Your own ops: handlers (and shape rules) declared outside onnxstat.

A handler is declared with :func:`register_handler`, in the spirit of
``torch.utils.flop_counter.register_flop_formula`` and fvcore's ``set_op_handle``::

    import onnxstat

    @onnxstat.register_handler("MyAttention", domain="my.ops", shape_rule=my_attention_shape)
    def my_attention(ctx):
        ...
        return ctx.cost(macs=..., flops=...)

    onnxstat.profile("model.onnx", custom_handlers=[my_attention])

Declaring does not change what onnxstat counts: a handler is registered in the
library's registry only for the call it is given to (``profile(...,
custom_handlers=[...])``, or the whole command with ``--plugin FILE.py``) and
taken out again afterwards, so one profile's handlers never leak into the next.
A custom handler for an op onnxstat already counts is an error unless it says
``override=True``; then it replaces every built-in version of that op for the
call, and the built-ins come back afterwards.

A plugin file is a Python module whose top-level names include decorated
handlers (see docs/adding-an-op.md).
"""

from __future__ import annotations

import functools
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from .errors import UsageError

#: attribute of a decorated function holding its declarations
SPEC_ATTR = "__onnxstat_handlers__"
#: one registration at a time changes the shared registry
_LOCK = threading.RLock()


@dataclass(frozen=True)
class HandlerSpec:
    """One declared handler: what :func:`register_handler` was asked."""

    op_type: str
    fn: Callable
    domain: str = ""
    since_version: int = 1
    shape_rule: Callable | None = None
    override: bool = False
    kind: str = "compute"
    formula: str = ""

    @property
    def label(self) -> str:
        return f"{self.domain + '::' if self.domain else ''}{self.op_type}"


def register_handler(
    op_type: str,
    *,
    domain: str = "",
    since_version: int = 1,
    shape_rule: Callable | None = None,
    override: bool = False,
    kind: str = "compute",
    formula: str = "",
) -> Callable[[Callable], Callable]:
    """Declare the decorated function as the handler of ``domain::op_type``.

    The function is ``handler(ctx: NodeContext) -> Cost`` (build the cost with
    ``ctx.cost(macs=..., flops=...)``).  ``shape_rule(ctx) -> [(dtype, shape) or None
    per output]`` gives the output types of an op onnx's shape inference does not
    know (``ctx.inputs`` resolved, ``ctx.outputs`` not yet known).  ``override=True``
    replaces a built-in handler of the same op; without it, declaring an op onnxstat
    already counts is an error when the handler is used.  ``kind`` is "compute",
    "data_movement" or "view"; ``formula`` the one-line formula ``onnxstat ops`` shows
    (default: the first line of the docstring).  Stack the decorator to give one
    function several ops.
    """
    if not isinstance(op_type, str) or not op_type:
        raise UsageError(f"register_handler: op_type must be a non-empty string, got {op_type!r}")
    if not isinstance(since_version, int) or since_version < 1:
        raise UsageError(f"register_handler({op_type!r}): since_version must be a whole number >= 1, got {since_version!r}")
    if shape_rule is not None and not callable(shape_rule):
        raise UsageError(f"register_handler({op_type!r}): shape_rule must be callable, got {type(shape_rule).__name__}")
    if kind not in ("compute", "data_movement", "view"):
        raise UsageError(f"register_handler({op_type!r}): kind must be compute, data_movement or view, got {kind!r}")

    def deco(fn: Callable) -> Callable:
        if not callable(fn):
            raise UsageError(f"register_handler({op_type!r}) decorates a function, got {type(fn).__name__}")
        from op_handlers.registry import norm_domain

        spec = HandlerSpec(op_type, fn, norm_domain(domain), since_version, shape_rule, bool(override), kind, formula)
        setattr(fn, SPEC_ATTR, (*getattr(fn, SPEC_ATTR, ()), spec))
        return fn

    return deco


# --------------------------------------------------------------------------- collecting


def specs_of(items: Iterable[Any]) -> list[HandlerSpec]:
    """The declarations in ``items``: decorated functions, :class:`HandlerSpec` objects,
    modules (their decorated top-level functions) or paths of plugin files."""
    out: list[HandlerSpec] = []
    if items is None:
        return out
    if callable(items) or isinstance(items, (str, Path, HandlerSpec)):
        items = [items]
    for item in items:
        if isinstance(item, HandlerSpec):
            out.append(item)
        elif isinstance(item, (str, Path)):
            out.extend(load_plugin(item))
        elif hasattr(item, "__dict__") and type(item).__name__ == "module":
            out.extend(_module_specs(item, getattr(item, "__file__", item.__name__)))
        elif callable(item) and getattr(item, SPEC_ATTR, None):
            out.extend(getattr(item, SPEC_ATTR))
        else:
            name = getattr(item, "__name__", repr(item))
            raise UsageError(f"custom handler {name} is not declared with @onnxstat.register_handler(op_type, ...)")
    return _dedupe(out)


def _dedupe(specs: Sequence[HandlerSpec]) -> list[HandlerSpec]:
    seen: dict[tuple[str, str, int], HandlerSpec] = {}
    for s in specs:
        key = (s.domain, s.op_type, s.since_version)
        old = seen.get(key)
        if old is not None and old.fn is not s.fn:
            raise UsageError(f"two custom handlers for {s.label} since version {s.since_version}: "
                             f"{_fn_name(old.fn)} and {_fn_name(s.fn)}")
        seen[key] = s
    return list(seen.values())


def _fn_name(fn: Callable) -> str:
    mod = getattr(fn, "__module__", None)
    return f"{mod}.{fn.__qualname__}" if mod and hasattr(fn, "__qualname__") else repr(fn)


def _module_specs(module: Any, where: str) -> list[HandlerSpec]:
    specs: list[HandlerSpec] = []
    for value in list(vars(module).values()):
        if callable(value) and getattr(value, SPEC_ATTR, None):
            specs.extend(getattr(value, SPEC_ATTR))
    return specs


def load_plugin(path: str | Path) -> list[HandlerSpec]:
    """Import a plugin file and return the handlers it declares.

    Errors are one line: a missing file, a file that fails to import (with the
    exception), a file that declares no handler."""
    import importlib.util
    import sys

    p = Path(path)
    if not p.is_file():
        raise UsageError(f"plugin {p}: no such file")
    if p.suffix != ".py":
        raise UsageError(f"plugin {p}: expected a Python file (.py)")
    name = f"onnxstat_plugin_{abs(hash(str(p.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, p)
    if spec is None or spec.loader is None:  # pragma: no cover - .py files always have a loader
        raise UsageError(f"plugin {p}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    try:
        spec.loader.exec_module(module)
    except UsageError as exc:
        sys.modules.pop(name, None)
        raise UsageError(f"plugin {p}: {exc}") from None
    except BaseException as exc:  # noqa: BLE001 - any failure in user code is one line
        sys.modules.pop(name, None)
        if isinstance(exc, KeyboardInterrupt):
            raise
        line = ""
        tb = exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == str(p):
                line = f" (line {tb.tb_lineno})"
            tb = tb.tb_next
        raise UsageError(f"plugin {p} failed to import{line}: {type(exc).__name__}: {exc}") from None
    specs = _module_specs(module, str(p))
    if not specs:
        raise UsageError(f"plugin {p}: declares no handler (decorate one with @onnxstat.register_handler(op_type, ...))")
    return specs


# --------------------------------------------------------------------------- registering


@contextmanager
def registered(items: Iterable[Any] | None, registry: Any = None) -> Iterator[list]:
    """Register the custom handlers in ``items`` for the duration of the block.

    Yields the registry entries added.  On leaving, they are removed and any
    built-in entry an ``override=True`` handler replaced is restored."""
    specs = specs_of(items) if items else []
    if not specs:
        yield []
        return
    if registry is None:
        from op_handlers.registry import REGISTRY as registry
    with _LOCK:
        added: list = []
        removed: list = []
        try:
            for s in specs:
                existing = [e for e in registry.entries() if e.key == (s.domain, s.op_type)]
                if existing and not s.override:
                    mine = [e for e in existing if e.fn is s.fn]
                    if mine:  # the same function already registered (nested use): nothing to do
                        continue
                    builtin = existing[0]
                    raise UsageError(
                        f"custom handler {_fn_name(s.fn)} for {s.label}: onnxstat already counts this op "
                        f"({builtin.formula or builtin.kind}); pass override=True to replace it"
                    )
                for e in existing:
                    if e not in added:
                        registry.remove(e)
                        removed.append(e)
                added.append(registry.add(
                    s.op_type, s.fn, domain=s.domain, since_version=s.since_version, kind=s.kind,
                    formula=s.formula, shape_rule=s.shape_rule, override=True,
                ))
            yield added
        finally:
            for e in added:
                registry.remove(e)
            for e in removed:
                registry.add(e.op_type, e.fn, domain=e.domain, since_version=e.since_version, kind=e.kind,
                             formula=e.formula, shape_rule=e.shape_rule, override=True)


# --------------------------------------------------------------------------- CLI


def plugin_option(fn: Callable) -> Callable:
    """``--plugin FILE.py`` (repeatable) on a command: its handlers are registered while
    the command runs."""
    import click

    @functools.wraps(fn)
    def wrapper(*args: Any, plugins: tuple[str, ...] = (), **kwargs: Any) -> Any:
        if not plugins:
            return fn(*args, **kwargs)
        specs = [s for p in plugins for s in load_plugin(p)]
        with registered(_dedupe(specs)):
            return fn(*args, **kwargs)

    return click.option(
        "--plugin", "plugins", multiple=True, type=click.Path(dir_okay=False), metavar="FILE.py",
        help="Load custom op handlers from a Python file (repeatable); see docs/adding-an-op.md.",
    )(wrapper)


__all__ = ["HandlerSpec", "register_handler", "registered", "specs_of", "load_plugin", "plugin_option"]
