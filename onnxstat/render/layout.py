"""Terminal tables that fit the terminal's width.

A number, a shape or a unit never wraps inside its cell: every column is as wide as
its widest cell.  When the table is wider than the terminal, in this order:

1. the box loses its vertical rules (two spaces between columns instead of `` │ ``);
2. the shrinkable text columns (node paths, file paths) are shortened to their
   minimum width, from the left with ``…`` (``…/then_branch/Conv_0``: the end of a
   path is the part that tells nodes apart);
3. columns are dropped, least important first (each column has a priority), and a
   dim note under the table names the columns left out.

Headers wrap at spaces (``Output`` / ``shape``), never inside a word.  Every cell goes
through :func:`onnxstat.render.textsafe.term`, so text from the model cannot move the cursor,
colour the terminal or start a new line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

from .textsafe import term

ELLIPSIS = "…"


@dataclass(frozen=True)
class Col:
    """One column: ``priority`` 0 is kept longest; ``shrink`` marks a text column that
    may be shortened from the left down to ``min_width`` characters."""

    header: str
    justify: str = "right"
    priority: int = 5
    shrink: bool = False
    min_width: int = 12


def cell_len(text: str) -> int:
    from rich.cells import cell_len as _cell_len

    return _cell_len(text)


def shorten_left(text: str, width: int) -> str:
    """``text`` cut from the left to ``width`` cells, ``…`` marking the cut."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    out = ""
    for ch in reversed(text):
        if cell_len(out) + cell_len(ch) > width - 1:
            break
        out = ch + out
    return ELLIPSIS + out


def shorten_paths(texts: Sequence[str], width: int) -> list[str]:
    """Each text shortened from the left (:func:`shorten_left`); texts that would then
    read the same (``…/query/MatMul`` for every layer) keep, between two ``…``, the part
    where they differ from each other (``…layers.3/sel…query/MatMul``)."""
    out = [shorten_left(t, width) for t in texts]
    groups: dict[str, list[int]] = {}
    for i, (t, o) in enumerate(zip(texts, out)):
        if o != t:
            groups.setdefault(o, []).append(i)
    for idx in groups.values():
        if len(idx) < 2 or width < 8 or len({texts[i] for i in idx}) < 2:  # equal texts stay equal
            continue
        for i in idx:
            t = texts[i]
            d = max(_common_prefix(t, texts[j]) for j in idx if j != i and texts[j] != t) if any(
                texts[j] != t for j in idx) else 0
            tail_w = (width - 2) // 2
            mid_w = width - 2 - tail_w
            start = max(0, min(d - mid_w // 3, len(t) - tail_w - mid_w))
            mid = t[start:start + mid_w]
            out[i] = ("" if start == 0 else ELLIPSIS) + mid + ELLIPSIS + t[len(t) - tail_w:]
            if start == 0:
                out[i] = t[:mid_w + 1] + ELLIPSIS + t[len(t) - tail_w:]
    return out


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _header_width(header: str) -> int:
    return max((cell_len(w) for w in header.split()), default=0)


def _overhead(n: int, boxed: bool) -> int:
    # boxed: "│ a │ b │" = 3 per column + 1; compact (no box, padding 1, no edge padding): 2 per gap
    return 3 * n + 1 if boxed else max(0, 2 * (n - 1))


@dataclass
class Fit:
    """The columns kept (indices into the spec), their widths, and the box style."""

    keep: list[int]
    widths: dict[int, int]
    boxed: bool
    dropped: list[str]


def fit(cols: Sequence[Col], rows: Sequence[Sequence[str]], width: int) -> Fit:
    """Choose the columns, their widths and the box for ``rows`` in ``width`` cells."""
    cells = {i: max([0] + [cell_len(r[i]) for r in rows if i < len(r)]) for i in range(len(cols))}
    natural = {i: max(cell_len(c.header), cells[i]) for i, c in enumerate(cols)}
    # narrowest: a header wraps at its spaces; a shrinkable column goes down to min_width
    floor = {i: min(natural[i], c.min_width) if c.shrink else max(_header_width(c.header), cells[i])
             for i, c in enumerate(cols)}
    keep = list(range(len(cols)))

    def done(widths: dict, boxed: bool) -> Fit:
        return Fit(list(keep), widths, boxed, [cols[i].header for i in range(len(cols)) if i not in keep])

    while True:
        for boxed in (True, False):
            widths = {i: natural[i] for i in keep}
            if sum(widths.values()) + _overhead(len(keep), boxed) <= width:
                return done(widths, boxed)
        excess = sum(widths.values()) + _overhead(len(keep), False) - width
        # headers wrap first, then the shrinkable text columns are shortened, the widest first
        order = [i for i in keep if not cols[i].shrink] + sorted((i for i in keep if cols[i].shrink),
                                                                  key=lambda i: -natural[i])
        for i in order:
            cut = min(excess, widths[i] - floor[i])
            widths[i] -= cut
            excess -= cut
        if excess <= 0:
            return done(widths, False)
        if len(keep) == 1:  # nothing left to drop: the last column is shortened or folds
            return done({keep[0]: max(1, width)}, False)
        keep.remove(max(keep, key=lambda i: (cols[i].priority, i)))


def table(cols: Sequence[Col], rows: Sequence[Sequence[Any]], width: int, title: str | None = None,
          row_styles: Sequence[str | None] | None = None):
    """A rich Table of ``rows`` (cells as text) that fits ``width`` cells, and the
    headers of the columns left out (for a note)."""
    from rich import box
    from rich.table import Table

    text_rows = [[term(c) for c in r] for r in rows]
    f = fit(cols, text_rows, width)
    t = Table(title=title, title_justify="left", box=box.HEAVY_HEAD if f.boxed else None,
              show_edge=f.boxed, pad_edge=f.boxed, header_style="bold" + ("" if f.boxed else " underline"))
    for i in f.keep:
        c = cols[i]
        t.add_column(c.header, justify=c.justify, no_wrap=False, overflow="fold", min_width=f.widths[i],
                     max_width=f.widths[i])
    shown = {i: shorten_paths([r[i] if i < len(r) else "" for r in text_rows], f.widths[i])
             for i in f.keep if cols[i].shrink}
    for k, r in enumerate(text_rows):
        cells = [shown[i][k] if i in shown else (r[i] if i < len(r) else "") for i in f.keep]
        t.add_row(*cells, style=row_styles[k] if row_styles else None)
    return t, f.dropped


def wrap_value(text: str, width: int) -> list[str]:
    """``text`` split into lines of at most ``width`` cells after ``;`` and ``,`` and
    before `` (`` only, so that a number and its unit stay together (a part longer than
    ``width`` is left whole)."""
    if cell_len(text) <= width or width <= 0:
        return [text]
    lines: list[str] = []
    for p in re.split(r"(?<=[;,]) | (?=\()", text):
        if lines and cell_len(lines[-1]) + 1 + cell_len(p) <= width:
            lines[-1] += " " + p
        else:
            lines.append(p)
    return lines
