"""Text that comes from the model, made safe for the format it is written in.

Node, tensor, op and file names and metadata are whatever the model's author wrote:
they can hold line breaks, terminal escape sequences (colours, cursor moves, OSC-8
links, a forged ``onnxstat: error:`` line), bidirectional overrides that reorder what
is shown, or the characters that delimit a Markdown cell or a CSV row.  Every
renderer passes such text through the function for its format:

* :func:`term` (terminal and plain-text reports): C0/C1 control characters, DEL and the
  bidi / zero-width format characters are written as visible escapes (``\\r``, ``\\n``,
  ``\\t``, ``\\x1b``, ``\\u202e``), so what reaches the terminal is exactly the printable
  text, on one line;
* :func:`md` (Markdown cells): the :func:`term` escapes, then the characters Markdown
  would interpret (``|`` ends a cell; `````, ``*``, ``_``, ``[``, ``]``, ``<``, ``>``,
  ``#`` and ``\\`` start markup) are backslash-escaped;
* :func:`csv_writer` (CSV): every text field is quoted (``QUOTE_NONNUMERIC``), so a line
  break, a carriage return, a comma or a quote inside a name round-trips through
  :func:`csv.reader`; comment lines (``# warning: ...``) go through :func:`term`.

JSON needs nothing (``json.dumps`` escapes control characters) and the HTML report
escapes through its template engine.  Text is escaped, never dropped: the name stays
recognisable and two different names never become the same text.
"""

from __future__ import annotations

import csv
import re
from typing import Any

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

#: C0 controls, DEL, C1 controls (CSI \x9b, OSC \x9d ...), and the Unicode format
#: characters that reorder or hide text: bidi embeddings/overrides/isolates, zero-width
#: joiners and spaces, the line and paragraph separators, the BOM
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def _escape(m: re.Match) -> str:
    c = m.group()
    if c in _NAMED:
        return _NAMED[c]
    o = ord(c)
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}"


def term(text: Any) -> str:
    """``text`` with every control or format character written as a visible escape.

    >>> term("conv\\x1b[31m\\rONNX")
    'conv\\\\x1b[31m\\\\rONNX'
    """
    s = text if isinstance(text, str) else str(text)
    return _UNSAFE.sub(_escape, s) if _UNSAFE.search(s) else s


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def md(text: Any) -> str:
    """A Markdown table cell: :func:`term`'s escapes, then Markdown's own characters
    backslash-escaped, so the cell stays one cell and shows the text as written."""
    return _MD_SPECIAL.sub(r"\\\1", term(text))


def csv_writer(buf):
    """A CSV writer whose rows round-trip through :func:`csv.reader`: text fields are
    always quoted (line breaks, carriage returns, commas and quotes inside them
    included), numbers are written bare."""
    return csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)


def _safe_cell(cell: Any) -> Any:
    if isinstance(cell, str):
        return term(cell)
    from rich.text import Text

    if isinstance(cell, Text) and _UNSAFE.search(cell.plain):
        return Text(term(cell.plain), style=cell.style, justify=cell.justify, no_wrap=cell.no_wrap)
    return cell


def safe_renderables(renderables: list) -> list:
    """Every table cell, title and printed text escaped with :func:`term`: one print is
    one line of text from the model's point of view (renderers print line by line)."""
    from rich.table import Table
    from rich.text import Text

    out = []
    for r in renderables:
        if isinstance(r, Table):
            for col in r.columns:
                col._cells = [_safe_cell(c) for c in col._cells]
                col.header = _safe_cell(col.header)
            r.title = _safe_cell(r.title) if r.title is not None else None
        elif isinstance(r, Text):
            r = _safe_cell(r)
        out.append(r)
    return out


def install(console) -> None:
    """Make every ``console.print`` of ``console`` safe (see :func:`safe_renderables`):
    tables of any command (compare, bench, batch, sweep) pass model names through
    :func:`term` without each renderer having to."""
    from rich.console import RenderHook

    class _Hook(RenderHook):
        def process_renderables(self, renderables):
            return safe_renderables(renderables)

    console.push_render_hook(_Hook())
