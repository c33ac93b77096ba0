"""A node's attributes as handlers and shape rules see them: the node's own values
over the defaults its schema declares (for the model's opset of the node's domain)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from op_handlers.registry import norm_domain

from ..model import _onnx as ox

GRAPH_TYPES = (ox.AttributeProto.GRAPH, ox.AttributeProto.GRAPHS)


@lru_cache(maxsize=4096)
def _schema_defaults(domain: str, op_type: str, opset: int) -> tuple[tuple[str, Any], ...]:
    try:
        schema = ox.get_schema(op_type, opset, domain)
    except Exception:
        return ()
    out = []
    for name, a in schema.attributes.items():
        dv = ox.schema_default(a)
        if dv is not None and dv.type != 0:
            try:
                out.append((name, attr_value(dv)))
            except Exception:
                pass
    return tuple(out)


def attr_value(a: ox.AttributeProto) -> Any:
    """An attribute's value; strings decoded (UTF-8, errors replaced)."""
    v = ox.get_attribute_value(a)
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, list) and v and isinstance(v[0], bytes):
        return [x.decode("utf-8", "replace") for x in v]
    return v


def node_attrs(node: ox.NodeProto, opset: int) -> dict[str, Any]:
    """Schema defaults completed by the node's attributes (graph attributes and
    references to function attributes left out)."""
    attrs = dict(_schema_defaults(norm_domain(node.domain), node.op_type, opset))
    for a in node.attribute:
        if a.type in GRAPH_TYPES or a.ref_attr_name:
            continue
        attrs[a.name] = attr_value(a)
    return attrs
