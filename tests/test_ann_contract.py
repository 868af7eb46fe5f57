"""One contract, every vector backend: index -> search -> save -> load -> same results."""
from pathlib import Path

import numpy as np
import pytest

from indexer.ann.factory import BACKENDS, create_ann


@pytest.fixture
def vectors():
    rng = np.random.default_rng(7)
    data = rng.normal(size=(500, 32)).astype(np.float32)
    return data / np.linalg.norm(data, axis=1, keepdims=True)


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_backend_contract(name, vectors, tmp_path):
    ann = create_ann(name, 32)
    ann.build(vectors)
    assert ann.count() == 500
    scores, ids = ann.search(vectors[:10], 5)
    assert list(ids[:, 0]) == list(range(10))  # each vector is its own nearest neighbour
    assert np.allclose(scores[:, 0], 1.0, atol=1e-4)
    allowed = np.arange(250, 500)
    _, filtered = ann.search(vectors[:10], 5, allowed)
    assert set(filtered.ravel()) <= set(allowed) | {-1}
    ann.save(tmp_path / "index.faiss")
    loaded = create_ann(name, 32)
    loaded.load(tmp_path / "index.faiss")
    scores2, ids2 = loaded.search(vectors[:10], 5)
    assert (ids2 == ids).all() and np.allclose(scores2, scores)
    if name == "flat":   # mapped in place, not read: gunicorn workers share the pages, start-up reads nothing
        assert str(tmp_path / "index.faiss") in Path("/proc/self/maps").read_text()
    # The next build copies unchanged rows from here: the stored vectors, row for row.
    assert np.array_equal(loaded.vectors(), vectors) and np.array_equal(ann.vectors(), vectors)
    empty = create_ann(name, 32)
    empty.build(vectors[:0])
    assert empty.vectors().shape == (0, 32)


def test_unknown_backend_lists_choices():
    with pytest.raises(ValueError, match="flat, hnsw"):
        create_ann("annoy", 8)
