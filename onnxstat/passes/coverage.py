"""Operator coverage: what the registry handles, for ``onnxstat ops`` and tests."""

from __future__ import annotations

import json

from op_handlers import REGISTRY


def coverage_rows(domain: str | None = None) -> list[dict]:
    want = None if domain is None else ("" if domain in ("", "ai.onnx") else domain)
    rows = []
    for e in REGISTRY.entries():
        if want is not None and e.domain != want:
            continue
        rows.append({
            "domain": e.domain or "ai.onnx",
            "op_type": e.op_type,
            "since_version": e.since_version,
            "kind": e.kind,
            "formula": e.formula,
        })
    return rows


def find_ops(name: str, domain: str | None = None) -> list[dict]:
    """The entries for op ``name`` (any case; ``com.microsoft::Attention`` names the
    domain too), or a :class:`UsageError` suggesting the closest names."""
    import difflib

    from ..errors import UsageError

    if "::" in name:
        domain, _, name = name.rpartition("::")
    rows = coverage_rows(domain)
    hits = [r for r in rows if r["op_type"].lower() == name.lower()]
    if hits:
        return hits
    names = sorted({r["op_type"] for r in rows})
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.6) or [n for n in names if name.lower() in n.lower()][:5]
    where = f" in domain {domain}" if domain else ""
    hint = f"; did you mean {', '.join(close)}?" if close else "; onnxstat ops lists every op"
    raise UsageError(f"no handler for op {name!r}{where}{hint}")


def ops_table(fmt: str = "table", domain: str | None = None, name: str | None = None, width: int = 140) -> str:
    from ..render.formats import render_as

    rows = find_ops(name, domain) if name else coverage_rows(domain)
    return render_as(fmt, {
        "table": lambda: _op_blocks(rows, width) if name else _ops_rich_table(rows, width),
        "json": lambda: json.dumps({"schema": "onnxstat.ops/1", "ops": rows}, indent=2) + "\n",
        "markdown": lambda: _ops_markdown(rows),
    }, "ops")


def _op_blocks(rows: list[dict], width: int) -> str:
    """One op: its formula in full, one block per domain/version."""
    from ..render.textsafe import term

    out = []
    for r in rows:
        out.append(f"{r['op_type']} ({r['domain']}, since opset {r['since_version']}, {r['kind']})")
        out += ["  " + line for line in _wrap(r["formula"], width - 2)]
    return "\n".join(term(x) for x in out) + "\n"


def _ops_markdown(rows: list[dict]) -> str:
    out = ["| Domain | Op | Since | Kind | Formula |", "|:---|:---|---:|:---|:---|"]
    out += [f"| {r['domain']} | {r['op_type']} | {r['since_version']} | {r['kind']} | {r['formula'].replace('|', '/')} |" for r in rows]
    return "\n".join(out) + "\n"


def _ops_rich_table(rows: list[dict], width: int) -> str:
    from rich.table import Table

    from ..render.formats import console_text

    t = Table(title=f"{len(rows)} handlers")
    for h in ("Domain", "Op", "Since", "Kind", "Formula"):
        t.add_column(h, overflow="fold")
    for r in rows:
        t.add_row(r["domain"], r["op_type"], str(r["since_version"]), r["kind"], r["formula"])
    return console_text(lambda console: console.print(t), width)


def _wrap(text: str, width: int) -> list[str]:
    """The formula's statements (``; ``-separated) one per line, each wrapped to ``width``."""
    import textwrap

    return [line for part in text.split("; ") for line in textwrap.wrap(part, max(20, width))]
