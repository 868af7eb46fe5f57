"""ONNX Runtime sessions of one graph, one per thread count (the BERT layers and the sparse head)."""
from __future__ import annotations


class OrtSessions:
    """Sessions of one ONNX graph by thread count: queries use one thread, index builds more."""

    def __init__(self, model: str | bytes):
        self.model = model          # a file path or the serialised graph
        self._sessions: dict[int, object] = {}

    def get(self, threads: int):
        """The session with `threads` intra-op threads (made on first use)."""
        session = self._sessions.get(threads)
        if session is None:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3   # warnings about unused initialisers are noise here
            session = self._sessions[threads] = onnxruntime.InferenceSession(
                self.model, options, providers=["CPUExecutionProvider"])
        return session
