"""Modules of the public API that can be called like the function they are named after.

``onnxstat.bench``, ``onnxstat.compare``, ``onnxstat.sweep``, ``onnxstat.symbolic`` and
``onnxstat.report`` are both modules (``from onnxstat import bench as B; B.BenchResult``)
and the API's functions (``onnxstat.bench("model.onnx")``).  Python binds a submodule
to its package's attribute of the same name when it is first imported, so a function
of that name in ``onnxstat/__init__`` would be replaced by the module as soon as
anything imported it; instead the module itself is made callable: calling it calls
its entry function, whose docstring :func:`help` also shows.
"""

from __future__ import annotations

import sys
import types


class CallableModule(types.ModuleType):
    """A module whose call is its ``__entry__`` function."""

    def __call__(self, *args, **kwargs):
        return getattr(self, self.__dict__["__entry__"])(*args, **kwargs)

    @property
    def __signature__(self):  # inspect.signature(onnxstat.bench) shows the function's
        import inspect

        return inspect.signature(getattr(self, self.__dict__["__entry__"]))


def make_callable(module_name: str, entry: str) -> None:
    """Make ``sys.modules[module_name]`` callable as ``entry``; its docstring gains the
    entry function's."""
    mod = sys.modules[module_name]
    mod.__dict__["__entry__"] = entry
    fn = getattr(mod, entry)
    if fn.__doc__ and (mod.__doc__ or "").find(fn.__doc__.strip()[:60]) < 0:
        mod.__doc__ = f"{mod.__doc__ or ''}\n\nCalling ``onnxstat.{module_name.rsplit('.', 1)[-1]}(...)`` calls " \
                      f":func:`{entry}`:\n\n{fn.__doc__}"
    mod.__class__ = CallableModule


def short_path(path, width: int = 60) -> str | None:
    """A path for a one-line ``repr``: its end, ``…`` in front when cut."""
    if path is None:
        return None
    s = str(path)
    return s if len(s) <= width else "…" + s[len(s) - width + 1:]
