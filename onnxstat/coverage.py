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


def ops_table(fmt: str = "table", domain: str | None = None) -> str:
    rows = coverage_rows(domain)
    if fmt == "json":
        return json.dumps({"schema": "onnxstat.ops/1", "ops": rows}, indent=2) + "\n"
    if fmt == "markdown":
        out = ["| Domain | Op | Since | Kind | Formula |", "|:---|:---|---:|:---|:---|"]
        out += [f"| {r['domain']} | {r['op_type']} | {r['since_version']} | {r['kind']} | {r['formula'].replace('|', '/')} |" for r in rows]
        return "\n".join(out) + "\n"
    from io import StringIO

    from .render import make_console
    from rich.table import Table

    t = Table(title=f"{len(rows)} handlers")
    for h in ("Domain", "Op", "Since", "Kind", "Formula"):
        t.add_column(h, overflow="fold")
    for r in rows:
        t.add_row(r["domain"], r["op_type"], str(r["since_version"]), r["kind"], r["formula"])
    buf = StringIO()
    make_console(file=buf, width=140, color_system=None).print(t)
    return buf.getvalue()
