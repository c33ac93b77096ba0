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
    rows = find_ops(name, domain) if name else coverage_rows(domain)
    if name and fmt == "table":  # one op: its formula in full, one block per domain/version
        from ..render.textsafe import term

        out = []
        for r in rows:
            out.append(f"{r['op_type']} ({r['domain']}, since opset {r['since_version']}, {r['kind']})")
            out += ["  " + line for line in _wrap(r["formula"], width - 2)]
        return "\n".join(term(x) for x in out) + "\n"
    if fmt == "json":
        return json.dumps({"schema": "onnxstat.ops/1", "ops": rows}, indent=2) + "\n"
    if fmt == "markdown":
        out = ["| Domain | Op | Since | Kind | Formula |", "|:---|:---|---:|:---|:---|"]
        out += [f"| {r['domain']} | {r['op_type']} | {r['since_version']} | {r['kind']} | {r['formula'].replace('|', '/')} |" for r in rows]
        return "\n".join(out) + "\n"
    from io import StringIO

    from ..render.formats import make_console
    from rich.table import Table

    t = Table(title=f"{len(rows)} handlers")
    for h in ("Domain", "Op", "Since", "Kind", "Formula"):
        t.add_column(h, overflow="fold")
    for r in rows:
        t.add_row(r["domain"], r["op_type"], str(r["since_version"]), r["kind"], r["formula"])
    buf = StringIO()
    make_console(file=buf, width=width, color_system=None).print(t)
    return buf.getvalue()


def _wrap(text: str, width: int) -> list[str]:
    """The formula's statements (``; ``-separated) one per line, each wrapped to ``width``."""
    import textwrap

    return [line for part in text.split("; ") for line in textwrap.wrap(part, max(20, width))]
