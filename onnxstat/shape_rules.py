"""Output shapes of ops onnx shape inference does not know (onnxruntime contrib ops).

Each rule is a function ``rule(attrs, inputs) -> [ValueType | None per output]``
where ``inputs`` are the input :class:`ValueType` (``None`` for absent inputs).
Rules return ``None`` for an output they cannot tell.  The shape resolution feeds
their results back into onnx inference so that downstream ai.onnx ops resolve.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from .shapes import ValueType

Rule = Callable[[dict, Sequence["ValueType | None"]], list]
MS = "com.microsoft"


def _known(v: ValueType | None) -> bool:
    return v is not None and v.shape is not None and all(isinstance(d, int) for d in v.shape)


def _dtype(v: ValueType | None, default: str = "float32") -> str:
    return v.dtype if v is not None and v.dtype != "undefined" else default


# --------------------------------------------------------------------------- shape arithmetic


def broadcast(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...] | None:
    out = []
    for x, y in zip(reversed(([1] * (len(b) - len(a))) + list(a)), reversed(([1] * (len(a) - len(b))) + list(b))):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            return None
    return tuple(reversed(out))


def matmul_shape(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...] | None:
    """numpy.matmul result shape (1-D operands promoted and squeezed)."""
    a1, b1 = len(a) == 1, len(b) == 1
    a = (1, *a) if a1 else tuple(a)
    b = (*b, 1) if b1 else tuple(b)
    if a[-1] != b[-2]:
        return None
    batch = broadcast(a[:-2], b[:-2])
    if batch is None:
        return None
    out = list(batch) + [a[-2], b[-1]]
    if a1:
        out.pop(-2)
    if b1:
        out.pop(-1)
    return tuple(out)


def _pads(attrs: dict, n: int) -> list[int]:
    pads = list(attrs.get("pads") or [0] * (2 * n))
    return pads if len(pads) == 2 * n else [0] * (2 * n)


def window_out(size: int, k: int, stride: int, dil: int, pb: int, pe: int, auto_pad: str, ceil: bool = False) -> int:
    ek = (k - 1) * dil + 1
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        return -(-size // stride)
    if auto_pad == "VALID":
        return (size - ek) // stride + 1
    num = size + pb + pe - ek
    return (-(-num // stride) if ceil else num // stride) + 1


def conv_shape(x: Sequence[int], w: Sequence[int], attrs: dict) -> tuple[int, ...]:
    n = len(x) - 2
    k = attrs.get("kernel_shape") or list(w[2:])
    strides = attrs.get("strides") or [1] * n
    dil = attrs.get("dilations") or [1] * n
    pads = _pads(attrs, n)
    ap = str(attrs.get("auto_pad", "NOTSET"))
    spatial = [window_out(x[2 + i], k[i], strides[i], dil[i], pads[i], pads[i + n], ap) for i in range(n)]
    return (x[0], w[0], *spatial)


def pool_shape(x: Sequence[int], attrs: dict) -> tuple[int, ...] | None:
    k = attrs.get("kernel_shape")
    if not k:
        return None
    n = len(k)
    strides = attrs.get("strides") or [1] * n
    dil = attrs.get("dilations") or [1] * n
    pads = _pads(attrs, n)
    ap = str(attrs.get("auto_pad", "NOTSET"))
    ceil = bool(attrs.get("ceil_mode", 0))
    if attrs.get("channels_last"):
        spatial = [window_out(x[1 + i], k[i], strides[i], dil[i], pads[i], pads[i + n], ap, ceil) for i in range(n)]
        return (x[0], *spatial, x[-1])
    spatial = [window_out(x[2 + i], k[i], strides[i], dil[i], pads[i], pads[i + n], ap, ceil) for i in range(n)]
    return (x[0], x[1], *spatial)


def _t(shape, dtype) -> ValueType | None:
    return None if shape is None else ValueType(dtype, tuple(shape))


# --------------------------------------------------------------------------- rules


def same_as_first(attrs, ins):
    x = ins[0] if ins else None
    return [x] if _known(x) else [None]


def qlinear_binary(attrs, ins):
    """QLinearAdd / QLinearMul: A (input 0) and B (input 3) broadcast."""
    a, b = ins[0], ins[3] if len(ins) > 3 else None
    if not (_known(a) and _known(b)):
        return [None]
    return [_t(broadcast(a.shape, b.shape), a.dtype)]


def skip_layer_norm(attrs, ins):
    x = ins[0]
    if not _known(x):
        return [None]
    stat = ValueType("float32", (*x.shape[:-1], 1))
    return [x, stat, stat, x]


def ms_quantize(attrs, ins):
    x = ins[0]
    zp = ins[2] if len(ins) > 2 else None
    return [_t(x.shape, _dtype(zp, "uint8"))] if _known(x) else [None]


def ms_dequantize(attrs, ins):
    x, scale = ins[0], ins[1] if len(ins) > 1 else None
    return [_t(x.shape, _dtype(scale))] if _known(x) else [None]


def _trans_last(s, flag):
    if not flag or len(s) < 2:
        return tuple(s)
    return (*s[:-2], s[-1], s[-2])


def fused_matmul(attrs, ins):
    a, b = ins[0], ins[1]
    if not (_known(a) and _known(b)):
        return [None]
    return [_t(matmul_shape(_trans_last(a.shape, attrs.get("transA")), _trans_last(b.shape, attrs.get("transB"))), a.dtype)]


def matmul_to_float(attrs, ins):
    a, b = ins[0], ins[1]
    scale = ins[2] if len(ins) > 2 else None
    if not (_known(a) and _known(b)):
        return [None]
    return [_t(matmul_shape(a.shape, b.shape), _dtype(scale))]


def dynamic_quantize_matmul(attrs, ins):
    a, b = ins[0], ins[1]
    if not (_known(a) and _known(b)):
        return [None]
    return [_t(matmul_shape(a.shape, b.shape), a.dtype)]


def matmul_nbits(attrs, ins):
    a = ins[0]
    n = attrs.get("N")
    if not _known(a) or not n:
        return [None]
    return [ValueType(a.dtype, (*a.shape[:-1], int(n)))]


def _gemm_mn(attrs, a, b):
    m = a.shape[1] if attrs.get("transA") else a.shape[0]
    n = b.shape[0] if attrs.get("transB") else b.shape[1]
    return (m, n)


def fused_gemm(attrs, ins):
    a, b = ins[0], ins[1]
    if not (_known(a) and _known(b)) or len(a.shape) != 2 or len(b.shape) != 2:
        return [None]
    return [ValueType(a.dtype, _gemm_mn(attrs, a, b))]


def qgemm(attrs, ins):
    a, b = ins[0], ins[3] if len(ins) > 3 else None
    if not (_known(a) and _known(b)) or len(a.shape) != 2 or len(b.shape) != 2:
        return [None]
    y_zp = ins[8] if len(ins) > 8 else None
    y_scale = ins[7] if len(ins) > 7 else None
    dtype = _dtype(y_zp, a.dtype) if y_scale is not None else "float32"
    return [ValueType(dtype, _gemm_mn(attrs, a, b))]


def fused_conv(attrs, ins):
    x, w = ins[0], ins[1]
    if not (_known(x) and _known(w)):
        return [None]
    return [ValueType(x.dtype, conv_shape(x.shape, w.shape, attrs))]


def qlinear_pool(attrs, ins):
    x = ins[0]
    if not _known(x):
        return [None]
    return [_t(pool_shape(x.shape, attrs), x.dtype)]


def qlinear_global_pool(attrs, ins):
    x = ins[0]
    if not _known(x):
        return [None]
    if attrs.get("channels_last"):
        return [ValueType(x.dtype, (x.shape[0], *([1] * (len(x.shape) - 2)), x.shape[-1]))]
    return [ValueType(x.dtype, (x.shape[0], x.shape[1], *([1] * (len(x.shape) - 2))))]


def qlinear_concat(attrs, ins):
    data = [ins[i] for i in range(2, len(ins), 3)]
    if not data or not all(_known(d) for d in data):
        return [None]
    axis = int(attrs.get("axis", 0))
    rank = len(data[0].shape)
    axis %= rank
    shape = list(data[0].shape)
    shape[axis] = sum(d.shape[axis] for d in data)
    return [ValueType(data[0].dtype, tuple(shape))]


def _past_len(past: ValueType | None, axis: int) -> int:
    if not _known(past) or len(past.shape) <= axis:
        return 0
    return past.shape[axis]


def ms_attention(attrs, ins):
    x, w = ins[0], ins[1] if len(ins) > 1 else None
    if not (_known(x) and _known(w)):
        return [None, None]
    heads = int(attrs.get("num_heads", 1))
    sizes = attrs.get("qkv_hidden_sizes")
    v_hidden = int(sizes[2]) if sizes else w.shape[1] // 3
    b, s = x.shape[0], x.shape[1]
    out = ValueType(x.dtype, (b, s, v_hidden))
    past = ins[4] if len(ins) > 4 else None  # past: [2, B, N, P, H]
    head = (int(sizes[1]) if sizes else w.shape[1] // 3) // heads
    present = ValueType(x.dtype, (2, b, heads, _past_len(past, 3) + s, head))
    return [out, present]


def multi_head_attention(attrs, ins):
    q = ins[0]
    if not _known(q) or len(q.shape) != 3:
        return [None, None, None]
    heads = int(attrs.get("num_heads", 1))
    k = ins[1] if len(ins) > 1 else None
    v = ins[2] if len(ins) > 2 else None
    b, s, d = q.shape
    if _known(v) and len(v.shape) == 3:
        v_hidden = v.shape[2]
    elif _known(v) and len(v.shape) == 4:
        v_hidden = v.shape[1] * v.shape[3]
    else:
        v_hidden = d
    qk_hidden = d
    head = qk_hidden // heads
    v_head = v_hidden // heads
    past_k = ins[6] if len(ins) > 6 else None
    if _known(k) and len(k.shape) == 3:
        kv_len = k.shape[1]
    elif _known(k) and len(k.shape) == 4:
        kv_len = k.shape[2]
    else:
        kv_len = s
    total = _past_len(past_k, 2) + kv_len
    return [
        ValueType(q.dtype, (b, s, v_hidden)),
        ValueType(q.dtype, (b, heads, total, head)),
        ValueType(q.dtype, (b, heads, total, v_head)),
    ]


def group_query_attention(attrs, ins):
    q = ins[0]
    if not _known(q) or len(q.shape) != 3:
        return [None, None, None]
    heads = int(attrs.get("num_heads", 1))
    kv_heads = int(attrs.get("kv_num_heads", heads))
    k = ins[1] if len(ins) > 1 else None
    b, s, d = q.shape
    head = d // (heads + 2 * kv_heads) if not _known(k) else d // heads
    past = ins[3] if len(ins) > 3 else None
    past_len = _past_len(past, 2)
    total = past_len + s  # a shared past/present buffer is not detectable from shapes alone
    return [
        ValueType(q.dtype, (b, s, heads * head)),
        ValueType(q.dtype, (b, kv_heads, total, head)),
        ValueType(q.dtype, (b, kv_heads, total, head)),
    ]


def embed_layer_norm(attrs, ins):
    ids, word = ins[0], ins[2] if len(ins) > 2 else None
    if not (_known(ids) and _known(word)):
        return [None, None, None]
    b, s = ids.shape[0], ids.shape[1]
    out = ValueType(word.dtype, (b, s, word.shape[1]))
    return [out, ValueType("int32", (b,)), out]


def dynamic_quantize_lstm(attrs, ins):
    x, w = ins[0], ins[1]
    hidden = attrs.get("hidden_size")
    if not (_known(x) and _known(w)) or not hidden:
        return [None, None, None]
    d = w.shape[0]
    s, b = x.shape[0], x.shape[1]
    h = int(hidden)
    return [ValueType(x.dtype, (s, d, b, h)), ValueType(x.dtype, (d, b, h)), ValueType(x.dtype, (d, b, h))]


def gather_block_quantized(attrs, ins):
    data, idx = ins[0], ins[1]
    scales = ins[2] if len(ins) > 2 else None
    if not (_known(data) and _known(idx)):
        return [None]
    bits = int(attrs.get("bits", 4))
    shape = list(data.shape)
    if data.dtype == "uint8" and bits < 8:
        shape[-1] = shape[-1] * (8 // bits)
    axis = int(attrs.get("gather_axis", 0)) % len(shape)
    out = shape[:axis] + list(idx.shape) + shape[axis + 1:]
    return [ValueType(_dtype(scales), tuple(out))]


RULES: dict[tuple[str, str], Rule] = {}
for _op in (
    "Gelu", "FastGelu", "BiasGelu", "QuickGelu", "BiasAdd", "BiasSoftmax", "LayerNormalization",
    "SimplifiedLayerNormalization", "RotaryEmbedding", "QLinearSigmoid",
    "QLinearLeakyRelu", "QLinearSoftmax", "BiasDropout", "Inverse",
):
    RULES[(MS, _op)] = same_as_first
# ai.onnx ops whose (function-based) inference onnx sometimes leaves empty
for _op in ("SimplifiedLayerNormalization", "GroupNormalization", "LayerNormalization", "RMSNormalization",
            "Gelu", "Mish", "HardSwish", "Swish"):
    RULES[("", _op)] = same_as_first
for _op in ("SkipLayerNormalization", "SkipSimplifiedLayerNormalization"):
    RULES[(MS, _op)] = skip_layer_norm
RULES.update({
    (MS, "QLinearAdd"): qlinear_binary,
    (MS, "QLinearMul"): qlinear_binary,
    (MS, "QuantizeLinear"): ms_quantize,
    (MS, "DequantizeLinear"): ms_dequantize,
    (MS, "FusedMatMul"): fused_matmul,
    (MS, "MatMulIntegerToFloat"): matmul_to_float,
    (MS, "DynamicQuantizeMatMul"): dynamic_quantize_matmul,
    (MS, "MatMulNBits"): matmul_nbits,
    (MS, "FusedGemm"): fused_gemm,
    (MS, "QGemm"): qgemm,
    (MS, "FusedConv"): fused_conv,
    (MS, "QLinearAveragePool"): qlinear_pool,
    (MS, "QLinearGlobalAveragePool"): qlinear_global_pool,
    (MS, "QLinearConcat"): qlinear_concat,
    (MS, "Attention"): ms_attention,
    (MS, "QAttention"): ms_attention,
    (MS, "MultiHeadAttention"): multi_head_attention,
    (MS, "GroupQueryAttention"): group_query_attention,
    (MS, "EmbedLayerNormalization"): embed_layer_norm,
    (MS, "DynamicQuantizeLSTM"): dynamic_quantize_lstm,
    (MS, "GatherBlockQuantized"): gather_block_quantized,
})


def has_rule(domain: str, op_type: str) -> bool:
    return (domain, op_type) in RULES


def apply_rule(domain: str, op_type: str, attrs: dict[str, Any], ins: Sequence[ValueType | None]) -> list:
    rule = RULES.get((domain, op_type))
    if rule is None:
        return []
    try:
        return rule(attrs, ins)
    except (IndexError, KeyError, TypeError, ValueError, ZeroDivisionError):
        return []
