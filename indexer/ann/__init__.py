"""Vector index backends (FAISS), one module each, picked by name in factory.py."""
