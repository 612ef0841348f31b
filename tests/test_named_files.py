"""Named tensor files: rc.io.save_file / rc.io.load_file (safetensors format), against
the ``safetensors`` package both ways, and hostile or damaged files."""

from __future__ import annotations

import json
import os
import struct

import numpy as np
import pytest
from conftest import require

import rcmlrs as rc
from rcmlrs import io as rio


def _bits(x) -> np.ndarray:
    a = x.numpy() if isinstance(x, rc.RamTensor) else np.asarray(x, np.float32)
    return a.view(np.uint32)


def _promoted(shape) -> tuple:
    return (1,) * (3 - len(shape)) + tuple(shape)


def _header(path) -> dict:
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n))


def _file(path, header: dict, data: bytes, hlen=None) -> None:
    """Write a safetensors file by hand (no checks)."""
    h = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h) if hlen is None else hlen) + h + data)


SPECIALS = np.array(
    [np.nan, -np.inf, np.inf, -0.0, 1e-45, 3.4028235e38, 0.1], np.float32
)  # plus a NaN payload, set below
SPECIALS.view(np.uint32)[0] = 0x7FC00001


# ------------------------------------------------------------------------- round trips


def test_round_trip_names_order_values(tmp_path, rng):
    p = tmp_path / "named.safetensors"
    tensors = {
        "zeta": rc.tensor(rng.standard_normal((2, 3, 4))),
        "alpha": rc.tensor(SPECIALS),
        "layer.0.weight": rc.zeros((0, 2, 3)),
        "": rc.ones((1, 1, 1)),
        'naïve, "quoted" [name] {x}': rc.tensor([[1.0, 2.0]]),
        "m": rc.randn((3, 1, 5), seed=4),
    }
    rc.io.save_file(p, tensors)
    back = rc.io.load_file(p)
    assert list(back) == list(tensors)  # names and insertion order
    for name, t in tensors.items():
        assert back[name].shape == t.shape
        assert np.array_equal(_bits(back[name]), _bits(t)), name
    # the header lists the tensors in the same order, data back to back
    h = _header(p)
    assert list(h) == list(tensors)  # no metadata given: no __metadata__ entry
    ends = [e["data_offsets"] for e in h.values()]
    assert ends[0][0] == 0 and all(a[1] == b[0] for a, b in zip(ends, ends[1:], strict=False))


def test_numpy_values_keep_their_rank(tmp_path):
    p = tmp_path / "np"
    arrays = {
        "scalar": np.array(2.5),
        "vec": np.arange(5, dtype=np.float64),
        "mat": np.arange(6, dtype=np.int32).reshape(2, 3),
        "cube": np.ones((2, 1, 3), np.float16),
        "flags": np.array([True, False]),
        "strided": np.arange(12, dtype=np.float32).reshape(3, 4)[:, ::2],
        "bigendian": np.arange(3, dtype=">f4"),
        "u8": np.arange(4, dtype=np.uint8),
    }
    rc.io.save_file(p, arrays)
    h = _header(p)
    assert {k: v["shape"] for k, v in h.items()} == {k: list(a.shape) for k, a in arrays.items()}
    assert {v["dtype"] for v in h.values()} == {"F32"}
    back = rc.io.load_file(p)
    assert list(back) == list(arrays)
    for k, a in arrays.items():
        assert back[k].shape == _promoted(a.shape)
        assert np.array_equal(back[k].numpy().reshape(a.shape), a.astype(np.float32)), k


def test_float64_beyond_float32_is_infinite(tmp_path):
    p = tmp_path / "big"
    rc.io.save_file(p, {"x": np.array([1e300, -1e300, 1e-300])})
    assert rc.io.load_file(p)["x"].tolist() == [[[np.inf, -np.inf, 0.0]]]


def test_empty_dict_and_metadata(tmp_path):
    p = tmp_path / "empty"
    rc.io.save_file(p, {})
    assert rc.io.load_file(p) == {}
    meta = {"format": "pt", "note": 'ünï {[ "quoted"', "": ""}
    rc.io.save_file(p, {"a": rc.ones(2)}, metadata=meta)
    tensors, got = rc.io.load_file_with_metadata(p)
    assert got == meta and list(tensors) == ["a"]
    assert rc.io.load_file_with_metadata(tmp_path / "empty")[1] == meta


def test_paths(tmp_path):
    rc.io.save_file(str(tmp_path / "s"), {"a": rc.ones(1)})
    rc.io.save_file(os.fsencode(tmp_path / "b"), {"a": rc.ones(1)})
    assert rc.io.load_file(str(tmp_path / "s"))["a"].tolist() == [[[1.0]]]
    assert os.path.exists(tmp_path / "b") and not os.path.exists(tmp_path / "s.safetensors")


def test_chunked_reads_and_conversions(tmp_path, monkeypatch):
    """Conversions run chunk by chunk: tiny chunks make every boundary show up."""
    p = tmp_path / "chunks"
    values = np.random.default_rng(0).standard_normal(1001).astype(np.float32)
    header = {
        "h": {"dtype": "F16", "shape": [7, 11, 13], "data_offsets": [0, 2002]},
        "d": {"dtype": "F64", "shape": [1001], "data_offsets": [2002, 10010]},
        "b": {"dtype": "BF16", "shape": [1001], "data_offsets": [10010, 12012]},
        "f": {"dtype": "F32", "shape": [1001], "data_offsets": [12012, 16016]},
    }
    bf16 = (values.view(np.uint32) >> 16).astype("<u2")
    data = values.astype("<f2").tobytes() + values.astype("<f8").tobytes()
    data += bf16.tobytes() + values.astype("<f4").tobytes()
    _file(p, header, data)
    monkeypatch.setattr(rio, "_IO_CHUNK", 24)
    back = rc.io.load_file(p)
    assert list(back) == ["h", "d", "b", "f"]
    assert back["h"].shape == (7, 11, 13)
    assert np.array_equal(back["h"].numpy().ravel(), values.astype(np.float16).astype(np.float32))
    assert np.array_equal(back["d"].numpy().ravel(), values)
    assert np.array_equal(_bits(back["b"]).ravel(), bf16.astype(np.uint32) << 16)
    assert np.array_equal(back["f"].numpy().ravel(), values)


def test_reads_save_tensors_binary_files(tmp_path):
    p = tmp_path / "bin"
    ts = [rc.ones((1, 2, 2)), rc.tensor(SPECIALS)]
    rc.save_tensors_binary(p, ts, metadata={"architecture": "x"})
    back, meta = rc.io.load_file_with_metadata(p)
    assert list(back) == ["t0000", "t0001"] and meta["architecture"] == "x"
    assert np.array_equal(_bits(back["t0001"]), _bits(ts[1]))
    raw = bytearray(p.read_bytes())
    raw[-1] ^= 1  # the checksum is still checked
    p.write_bytes(bytes(raw))
    with pytest.raises(rc.FormatError, match="checksum"):
        rc.io.load_file(p)
    assert list(rc.io.load_file(p, verify=False)) == ["t0000", "t0001"]


def test_load_state_binary_still_reads_f32_only(tmp_path):
    p = tmp_path / "f16"
    _file(p, {"h": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}}, bytes(4))
    assert rc.io.load_file(p)["h"].tolist() == [[[0.0, 0.0]]]
    with pytest.raises(rc.FormatError, match="dtype 'F16'"):
        rc.load_state_binary(p)


# ----------------------------------------------------------- the safetensors package


def _torch_set(torch):
    g = torch.Generator().manual_seed(0)
    return {
        "w32": torch.randn(2, 3, 4, generator=g),
        "w16": torch.randn(3, 5, generator=g).half(),
        "wbf": torch.randn(7, generator=g).bfloat16(),
        "w64": torch.randn(2, 2, generator=g, dtype=torch.float64),
        "scalar": torch.tensor(1.25),
        "empty": torch.zeros(0, 3),
        "b.bias": torch.tensor([float("nan"), float("inf"), -0.0]),
    }


def test_files_of_safetensors_torch(tmp_path):
    torch = require("torch")
    stt = require("safetensors.torch")
    p = tmp_path / "torch.safetensors"
    src = _torch_set(torch)
    stt.save_file(src, str(p), metadata={"format": "pt"})
    back, meta = rc.io.load_file_with_metadata(p)
    assert meta == {"format": "pt"}
    assert set(back) == set(src)
    h = _header(p)
    by_offset = sorted((v["data_offsets"], k) for k, v in h.items() if k != "__metadata__")
    assert list(back) == [k for _, k in by_offset]  # the writer's (data) order
    for k, x in src.items():
        assert back[k].shape == _promoted(tuple(x.shape)), k
        want = x.float().numpy()
        assert np.array_equal(back[k].numpy().reshape(want.shape), want, equal_nan=True), k


def test_files_of_safetensors_numpy(tmp_path):
    stn = require("safetensors.numpy")
    p = tmp_path / "numpy.safetensors"
    rng = np.random.default_rng(1)
    src = {
        "f32": rng.standard_normal((2, 3, 4)).astype(np.float32),
        "f16": rng.standard_normal((5, 2)).astype(np.float16),
        "f64": rng.standard_normal(9),
        "s": np.array(3.0, np.float32),
    }
    stn.save_file(src, str(p))
    back = rc.io.load_file(p)
    assert set(back) == set(src)
    for k, a in src.items():
        assert np.array_equal(back[k].numpy().reshape(a.shape), a.astype(np.float32)), k


@pytest.mark.parametrize(
    "dtype, tag", [("int64", "I64"), ("int32", "I32"), ("uint8", "U8"), ("bool", "BOOL")]
)
def test_other_dtypes_name_dtype_and_tensor(tmp_path, dtype, tag):
    stn = require("safetensors.numpy")
    p = tmp_path / "ints"
    stn.save_file({"ok": np.ones(2, np.float32), "bad.ids": np.ones(3, dtype)}, str(p))
    with pytest.raises(rc.FormatError, match=rf"'bad\.ids'.*{tag}"):
        rc.io.load_file(p)


def test_rank4_names_the_tensor(tmp_path):
    stn = require("safetensors.numpy")
    p = tmp_path / "r4"
    stn.save_file({"conv.weight": np.ones((2, 1, 3, 3), np.float32)}, str(p))
    with pytest.raises(rc.FormatError, match=r"'conv\.weight'.*rank-4"):
        rc.io.load_file(p)


def test_our_files_load_in_safetensors(tmp_path, rng):
    stn = require("safetensors.numpy")
    safetensors = require("safetensors")
    p = tmp_path / "ours.safetensors"
    tensors = {
        "z": rc.tensor(rng.standard_normal((2, 3, 4))),
        "a": np.arange(5, dtype=np.float64),
        "special": rc.tensor(SPECIALS),
        "empty": rc.zeros((0, 1, 2)),
        "s": np.array(7.0),
    }
    rc.io.save_file(p, tensors, metadata={"format": "np", "k": "v"})
    theirs = stn.load_file(str(p))
    assert set(theirs) == set(tensors)
    for k, t in tensors.items():
        want = t.numpy() if isinstance(t, rc.RamTensor) else t.astype(np.float32)
        assert theirs[k].dtype == np.float32 and theirs[k].shape == want.shape, k
        assert np.array_equal(theirs[k].view(np.uint32), want.view(np.uint32)), k
    with safetensors.safe_open(str(p), framework="numpy") as f:
        assert f.metadata() == {"format": "np", "k": "v"}
        assert set(f.keys()) == set(tensors)


def test_our_files_load_in_safetensors_torch(tmp_path):
    torch = require("torch")
    stt = require("safetensors.torch")
    p = tmp_path / "ours_pt"
    rc.io.save_file(p, {"w": rc.tensor([[1.0, 2.0], [3.0, 4.0]])}, metadata={"format": "pt"})
    back = stt.load_file(str(p))
    assert torch.equal(back["w"], torch.tensor([[[1.0, 2.0], [3.0, 4.0]]]))


# ------------------------------------------------------------------ writer arguments


@pytest.mark.parametrize(
    "tensors, error, match",
    [
        ([rc.ones(1)], TypeError, "dict"),
        (rc.ones(1), TypeError, "dict"),
        ({1: rc.ones(1)}, TypeError, "names must be str"),
        ({"a": [1.0, 2.0]}, TypeError, "'a' is a list"),
        ({"a": np.ones(2, np.complex64)}, TypeError, "complex64"),
        ({"a": np.array(["x"])}, TypeError, "'a'"),
        ({"a": np.ones((1, 1, 1, 2))}, rc.ShapeError, "4 dims"),
        ({"__metadata__": rc.ones(1)}, ValueError, "reserved"),
        ({"a": np.empty((0, 2**41))}, ValueError, "too large"),
    ],
)
def test_bad_arguments_touch_nothing(tmp_path, tensors, error, match):
    p = tmp_path / "old"
    p.write_bytes(b"old contents")
    with pytest.raises(error, match=match):
        rc.io.save_file(p, tensors)
    assert p.read_bytes() == b"old contents" and os.listdir(tmp_path) == ["old"]


@pytest.mark.parametrize(
    "metadata, error",
    [
        ({"a": 1}, TypeError),
        ({1: "a"}, TypeError),
        (["a"], TypeError),
        ({"crc32": "00000000"}, ValueError),
        ({"tensor_order": ""}, ValueError),
        ({"format_version": "1"}, ValueError),
        ({"format": "rcmlrs"}, ValueError),
    ],
)
def test_bad_metadata(tmp_path, metadata, error):
    p = tmp_path / "m"
    with pytest.raises(error):
        rc.io.save_file(p, {"a": rc.ones(1)}, metadata=metadata)
    assert not p.exists()


def test_header_limit_is_checked_before_writing(tmp_path, monkeypatch):
    monkeypatch.setattr(rio, "MAX_HEADER_BYTES", 200)
    p = tmp_path / "h"
    with pytest.raises(ValueError, match="header"):
        rc.io.save_file(p, {f"tensor number {i}": rc.ones(1) for i in range(10)})
    assert not p.exists()


def test_save_is_atomic(tmp_path, monkeypatch):
    p = tmp_path / "atomic"
    rc.io.save_file(p, {"a": rc.ones(3)})
    before = p.read_bytes()

    def boom(f, raws, crc):
        f.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(rio, "_write_data", boom)
    with pytest.raises(KeyboardInterrupt):
        rc.io.save_file(p, {"a": rc.zeros(3), "b": rc.zeros(5)})
    assert p.read_bytes() == before and os.listdir(tmp_path) == ["atomic"]


# --------------------------------------------------------------- hostile and damaged


def _valid(tmp_path):
    p = tmp_path / "valid"
    rc.io.save_file(p, {"a": rc.tensor([[1.0, 2.0]]), "h": np.ones(3), "b": rc.ones((2, 2, 2))})
    return p


def test_every_truncation_is_a_format_error(tmp_path):
    raw = _valid(tmp_path).read_bytes()
    q = tmp_path / "cut"
    for n in range(len(raw)):
        q.write_bytes(raw[:n])
        with pytest.raises(rc.FormatError):
            rc.io.load_file(q)


def test_trailing_bytes(tmp_path):
    p = _valid(tmp_path)
    p.write_bytes(p.read_bytes() + b"\0\0\0\0")
    with pytest.raises(rc.FormatError, match="trailing"):
        rc.io.load_file(p)


F16 = {"dtype": "F16", "shape": [2, 2], "data_offsets": [0, 8]}


@pytest.mark.parametrize(
    "header, data, match",
    [
        # offsets
        ({"x": {**F16, "data_offsets": [0, 16]}}, bytes(8), "run past"),
        ({"x": {**F16, "data_offsets": [0, 4]}}, bytes(8), "needs 8 bytes"),
        ({"x": {**F16, "data_offsets": [4, 0]}}, bytes(8), "begin <= end"),
        ({"x": {**F16, "data_offsets": [-8, 0]}}, bytes(8), "0 <= begin"),
        ({"x": {**F16, "data_offsets": [0, 8.0]}}, bytes(8), "data_offsets"),
        ({"x": {**F16, "data_offsets": [0]}}, bytes(8), "data_offsets"),
        ({"x": {**F16, "data_offsets": [2**64, 2**64 + 8]}}, bytes(8), "run past"),
        (
            {"x": F16, "y": {**F16, "data_offsets": [4, 12]}},
            bytes(12),
            "overlap",
        ),
        ({"x": F16, "y": {**F16, "data_offsets": [12, 20]}}, bytes(20), "gap"),
        ({"x": {**F16, "data_offsets": [4, 12]}}, bytes(12), "gap"),
        # shapes and sizes
        ({"x": {**F16, "shape": [2**40, 2**40, 1]}}, bytes(8), "too large"),
        ({"x": {**F16, "shape": [0, 2**62]}, "y": F16}, bytes(8), "too large"),
        ({"x": {**F16, "shape": [2**20, 2**20]}}, bytes(8), "needs 2199023255552 bytes"),
        ({"x": {**F16, "shape": [2, -2]}}, bytes(8), "non-negative"),
        ({"x": {**F16, "shape": [1, 1, 2, 2]}}, bytes(8), "rank-4"),
        ({"x": {**F16, "shape": "2,2"}}, bytes(8), "shape"),
        ({"x": {"dtype": "F64", "shape": [2], "data_offsets": [0, 8]}}, bytes(8), "needs 16"),
        ({"x": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 8]}}, bytes(8), "needs 6"),
        # dtypes and entries
        ({"x": {**F16, "dtype": "f16"}}, bytes(8), "dtype"),
        ({"x": {**F16, "dtype": ["F16"]}}, bytes(8), "dtype"),
        ({"x": {**F16, "dtype": "I16"}}, bytes(8), "'I16'"),
        ({"x": {**F16, "extra": 1}}, bytes(8), "keys"),
        ({"x": [0, 8]}, bytes(8), "not an object"),
        ({"__metadata__": {"a": 1}, "x": F16}, bytes(8), "__metadata__"),
        ({"__metadata__": {"crc32": "00000000"}, "x": F16}, bytes(8), "rcmlrs metadata"),
    ],
)
def test_hostile_headers(tmp_path, header, data, match):
    p = tmp_path / "hostile"
    _file(p, header, data)
    with pytest.raises(rc.FormatError, match=match):
        rc.io.load_file(p)


@pytest.mark.parametrize(
    "raw, match",
    [
        (b"", "too short"),
        (struct.pack("<Q", 2**63) + b"{}", "exceeds"),
        (struct.pack("<Q", 100) + b"{}", "larger than the rest"),
        (struct.pack("<Q", 2) + b"[]", "start with"),
        (struct.pack("<Q", 4) + b'{"a"', "invalid JSON"),
        (struct.pack("<Q", 2) + b"\xff\xfe", "start with"),
        (struct.pack("<Q", 13) + b'{"x":1,"x":2}', "duplicate"),
        (struct.pack("<Q", 12) + b'{"x":NaN}   ', "NaN"),
    ],
)
def test_hostile_framing(tmp_path, raw, match):
    p = tmp_path / "frame"
    p.write_bytes(raw)
    with pytest.raises(rc.FormatError, match=match):
        rc.io.load_file(p)


def test_not_a_regular_file(tmp_path):
    with pytest.raises(rc.FormatError, match="directory"):
        rc.io.load_file(tmp_path)
    if os.path.exists("/dev/zero"):
        with pytest.raises(rc.FormatError, match="device"):
            rc.io.load_file("/dev/zero")


def test_bit_flips_load_or_are_a_format_error(tmp_path):
    """No checksum in a named file: a flipped data bit loads (other values), a flipped
    header bit loads or is a FormatError, never anything else (one bit per byte)."""
    raw = bytearray(_valid(tmp_path).read_bytes())
    q = tmp_path / "flip"
    for i in range(len(raw)):
        raw[i] ^= 1 << (i % 8)
        q.write_bytes(bytes(raw))
        raw[i] ^= 1 << (i % 8)
        try:
            rc.io.load_file(q)
        except rc.FormatError:
            pass
