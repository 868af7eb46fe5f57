"""Building index versions: chunking, embedding, keyword and vector indexes, atomic switch."""
