"""Embedding models: the encoder interface, its implementations and the offline model conversion."""
