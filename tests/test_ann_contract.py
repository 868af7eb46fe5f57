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
    if name.startswith("flat"):   # mapped in place, not read: gunicorn workers share the pages, start-up reads nothing
        assert str(tmp_path / "index.faiss") in Path("/proc/self/maps").read_text()
    # The next build copies unchanged rows from here: the stored vectors, row for row (float16 rounded: within
    # 1e-3, and stored again bit for bit, so rows copied version after version never drift).
    stored = loaded.vectors()
    assert np.array_equal(stored, ann.vectors()) and np.allclose(stored, vectors, atol=1e-3)
    again = create_ann(name, 32)
    again.build(stored.astype(np.float32))
    assert np.array_equal(again.vectors(), stored)
    empty = create_ann(name, 32)
    empty.build(vectors[:0])
    assert empty.vectors().shape == (0, 32)


def test_unknown_backend_lists_choices():
    with pytest.raises(ValueError, match="flat, flat16, hnsw"):
        create_ann("annoy", 8)


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_a_kept_restriction_gives_what_the_ids_give(name, vectors):
    """Searches reuse one bitmap per filter: same results as the id list, only members, none missed."""
    ann = create_ann(name, 32)
    ann.build(vectors)
    ids = np.arange(0, 500, 3)
    kept = ann.allowed(ids)
    assert len(kept) == len(ids)
    for _ in range(2):   # used twice: nothing consumed by the first search
        scores, found = ann.search(vectors[:20], 10, kept)
        assert set(found.ravel()) <= set(ids.tolist())
        assert list(found[:, 0]) == [i if i % 3 == 0 else found[n, 0] for n, i in enumerate(range(20))]
        expected = np.sort((vectors[:20] @ vectors[ids].T), axis=1)[:, ::-1][:, :10]
        if name == "flat":   # exact: the ten best members, exactly
            assert np.allclose(scores, expected, atol=1e-5)
    assert len(ann.allowed(np.array([], dtype=np.int64))) == 0
    empty = create_ann(name, 32)
    empty.build(vectors[:0])
    assert len(empty.allowed(np.array([], dtype=np.int64))) == 0
