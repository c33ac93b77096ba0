"""The cyclic garbage collector around passes that allocate one record per node."""

from __future__ import annotations

import gc
from contextlib import contextmanager

#: set by the command line (a process that ends when its report is written): objects made
#: while the collector was paused are frozen when it resumes (:func:`gc.freeze`) instead
#: of being walked by the first collection after it, a few tenths of a second on a graph
#: of 100,000 nodes.  A library caller keeps the ordinary collector.
FREEZE_AFTER_PAUSE = False


#: results the command line keeps until the process ends (see :func:`keep_until_exit`)
_KEPT: list = []


def keep_until_exit(obj) -> None:
    """Under the command line, hold ``obj`` until the process ends: it ends without tearing
    the interpreter down (``cli.hard_exit``), so a profile's records are never freed one by
    one, a few tenths of a second on a graph of 100,000 nodes.  A no-op for library callers."""
    if FREEZE_AFTER_PAUSE:
        _KEPT.append(obj)


@contextmanager
def gc_paused():
    """No cyclic garbage collection inside: passes that allocate one record per node and
    free none (the profile, a report's dicts) would only pay for collections that walk
    every object made so far, a third of the time on a 100,000-node graph."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            if FREEZE_AFTER_PAUSE:
                gc.freeze()
            gc.enable()


__all__ = ["gc_paused", "keep_until_exit"]
