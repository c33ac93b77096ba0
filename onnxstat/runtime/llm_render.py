"""Rendering of ``onnxstat llm``: the summary and the phase table, in the terminal (rich),
Markdown and JSON.  Rows are built from ``LLMResult.to_dict()`` (:func:`summary_rows`,
:func:`phase_rows`), so the HTML report (:mod:`onnxstat.render.report`) shows the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from .llm import LLMResult

PHASE_HEADERS = ["Phase", "Past", "MACs", "FLOPs", "Bytes", "Roofline", "Bound", "Measured"]


def _secs(s: Any) -> str:
    from ..render.report import fmt_seconds

    return fmt_seconds(s)


def _rate(v: float) -> str:
    if v >= 1e6:
        return f"{v / 1e6:.3g} M tokens/s"
    return f"{v:,.0f} tokens/s" if v >= 100 else f"{v:.3g} tokens/s"


def phase_rows(d: Mapping) -> list[list[str]]:
    """Rows of the phase table from ``LLMResult.to_dict()``."""
    from ..render import units

    pre = d["prefill"]

    def row(label, past, x):
        ms = x.get("measured_ms")
        return [label, past, units.si(x["macs"]), units.si(x["flops"]), units.nbytes(x["bytes"]),
                _secs(x.get("roofline_s")), x.get("bound") or "-", "-" if ms is None else f"{ms:.3g} ms"]

    rows = [row(f"prefill {pre['tokens']:,}", "0", pre)]
    for pt in d["decode"]["points"]:
        rows.append(row("decode 1", f"{pt['past']:,}", pt))
    gen = d["generate"]
    if gen.get("macs") is not None:
        rows.append(row(f"generate {gen['tokens']:,}", f"{d['settings']['prompt']:,}+", gen))
    return rows


def summary_rows(d: Mapping) -> list[tuple[str, str]]:
    """(label, text) rows of the summary from ``LLMResult.to_dict()``."""
    from ..render import units

    sig, st, kv = d["signature"], d["settings"], d["kv_cache"]
    pairs = [p for p in sig["kv"] if p["kind"] == "self"]
    first = pairs[0] if pairs else None
    roles = [f"new tokens {sig['new_tokens_dim']!r}", f"past {sig['past_dim']!r}"]
    if sig.get("total_dim"):
        roles.append(f"total {sig['total_dim']!r}")
    inputs = [str(sig[k]) for k in ("attention_mask", "position_ids", "seqlens_k", "total_sequence_length")
              if sig.get(k)]
    rows = [
        ("Model", str(d.get("model") or "(in memory)")),
        ("Decoder", f"{len(pairs)} past/present pairs ({first['input']} -> {first['output']}, ...); "
                    + ", ".join(roles) + ("; inputs " + ", ".join(inputs) if inputs else "")),
        ("Settings", f"batch {st['batch']}, prompt {st['prompt']:,}, context {st['context']:,}, "
                     f"generate {st['generate']:,} tokens"),
    ]
    f = d["decode"].get("formula")
    if f:
        rows.append(("Decode per token", f"MACs = {f['pretty']['macs']}; FLOPs = {f['pretty']['flops']}; "
                                         f"bytes = {f['pretty']['bytes']}"))
    text = f"{units.nbytes(kv['bytes_per_token'])} per token ({kv['bytes_per_token']:,} B"
    text += f" = {kv['formula']})" if kv.get("formula") else ")"
    rows.append(("KV cache", text + f"; {units.nbytes(kv['bytes_at_context'])} at {kv['context']:,} tokens "
                                    f"x batch {kv['batch']}"))
    w = d["weights"]
    by = ", ".join(f"{k} {units.nbytes(v)}" for k, v in sorted(w["bytes_by_dtype"].items(), key=lambda kv_: -kv_[1]))
    rows.append(("Weights", f"{units.nbytes(w['bytes'])} ({by})"))
    dev, tps = d.get("device"), d["tokens_per_s"]
    if dev:
        rows.append(("Device", f"{dev['name']}: {units.nbytes(dev['bandwidth_bytes_per_s'])}/s"))
        rows.append(("Roofline", f"time to first token {_secs(tps.get('time_to_first_token_s'))}, "
                                 f"per output token {_secs(tps.get('time_per_output_token_s'))} "
                                 f"(past {tps.get('at_past'):,}), {_rate(tps['roofline'])}"
                     if tps.get("roofline") else "-"))
    m = d.get("measured")
    if m:
        dm = m.get("decode_ms") or {}
        prov = ", ".join(p.replace("ExecutionProvider", "") for p in m.get("providers_used") or [])
        text = (f"prefill p50 {m['prefill_ms']['p50']:.3f} ms; decode step p50 {dm.get('p50', float('nan')):.3f} ms, "
                f"p90 {dm.get('p90', float('nan')):.3f} ms; "
                + (_rate(m["tokens_per_s"]) if m.get("tokens_per_s") else "tokens/s -")
                + f" ({m['runs']} runs, onnxruntime {prov})")
        rows.append(("Measured", text))
    return rows


def print_llm(res: "LLMResult", console=None) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from ..render.formats import terminal_console

    console = console or terminal_console()
    d = res.to_dict()
    head = Table(show_header=False, box=None, pad_edge=False)
    head.add_column(style="bold cyan", no_wrap=True)
    head.add_column(overflow="fold")
    for k, v in summary_rows(d):
        head.add_row(k, v)
    console.print(head)
    console.print()
    t = Table(title="Phases (decode: one token after past cached tokens)", title_justify="left",
              box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1, 0, 0))
    for i, h in enumerate(PHASE_HEADERS):
        t.add_column(h, justify="left" if i in (0, 6) else "right", no_wrap=True)
    for r in phase_rows(d):
        t.add_row(*r)
    console.print(t)
    for w in res.warnings:
        console.print(Text.assemble(("warning:", "yellow"), f" {w}"), highlight=False)


def to_markdown(res: "LLMResult") -> str:
    d = res.to_dict()

    def esc(s: str) -> str:
        return str(s).replace("|", "\\|")

    lines = ["| | |", "|---|---|"] + [f"| {esc(k)} | {esc(v)} |" for k, v in summary_rows(d)]
    lines += ["", "| " + " | ".join(PHASE_HEADERS) + " |", "|" + "---|" * len(PHASE_HEADERS)]
    lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in phase_rows(d)]
    if res.warnings:
        lines += [""] + [f"- warning: {esc(w)}" for w in res.warnings]
    return "\n".join(lines) + "\n"


def to_json(res: "LLMResult") -> str:
    import json

    return json.dumps(res.to_dict(), indent=2) + "\n"
