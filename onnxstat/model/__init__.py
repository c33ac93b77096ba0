"""Loading a model: the ONNX wire format, external data, the validated graph."""
