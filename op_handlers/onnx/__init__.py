"""The ai.onnx operators, one module per family.

Importing this package registers them.  Ops no family claims are in :mod:`.misc`;
the control-flow ops (If, Loop, Scan, SequenceMap) in :mod:`.control_flow`.
"""

from . import (  # noqa: F401
    attention,
    control_flow,
    conv,
    data_movement,
    elementwise,
    linear,
    misc,
    normalization,
    pooling,
    quantized,
    recurrent,
    reduction,
    signal,
    spatial,
)
