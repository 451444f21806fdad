"""Read a Hugging Face model folder lazily and write it back with a larger vocabulary.

Checkpoints are one ``model.safetensors`` or sharded (``model-0000k-of-0000n.safetensors`` and
``model.safetensors.index.json``). Only the safetensors headers are read up front (each one
checked: a truncated file or a bad header is an :class:`InputError` naming it); tensor data is
read on demand, one tensor at a time. When writing, the shards that hold a per-token tensor
(input embeddings, untied LM head, LM-head bias) are rewritten by streaming: every other
tensor's bytes are copied from the source file in chunks, a grown tensor is its old bytes
followed by the new rows (rows are contiguous in row-major order), so memory stays
proportional to the new rows, never to the model. Shards without a per-token tensor are
hard-linked (copied where the file system refuses links). dtypes are kept byte for byte.

The output folder goes through xling's one output layer (:func:`~xling.data.atomic.output_folder`):
built in a temporary folder beside it and swapped in whole, so a failed run leaves nothing
half-written and a file-system error is one line naming the user's path. ``--force`` replaces only
a folder that xling wrote (``.xling-output``, or ``xling-vocab.json`` from an earlier xling), and the
output may never be the model folder, one of its parents, a folder inside it, or hold an input.
"""
from __future__ import annotations

import json
import os
import shutil
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..data.atomic import check_output_folder, output_folder
from ..data.errors import InputError, OutputError
from ..data.jsonfile import read_json

if TYPE_CHECKING:
    from tokenizers import Tokenizer

INPUT_SUFFIXES = ("word_embeddings.weight", "embed_tokens.weight", "wte.weight", "shared.weight",
                  "embed_in.weight", "word_embedding.weight")
# Weight formats that would be stale after the rewrite: never copied to the output.
STALE_WEIGHTS = (".bin", ".h5", ".msgpack", ".onnx", ".ot", ".pt", ".pth", ".ckpt", ".gguf", ".safetensors")
INDEX_NAME = "model.safetensors.index.json"
SINGLE_NAME = "model.safetensors"
MARKER = "xling-vocab.json"
# safetensors dtype codes of the floating tensors a vocabulary may live in, with their byte sizes
FLOAT_DTYPES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2}
_DTYPE_SIZES = {**FLOAT_DTYPES, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1, "U16": 2,
                "U32": 4, "U64": 8, "F8_E4M3": 1, "F8_E5M2": 1}
_CHUNK = 16 << 20


@dataclass(frozen=True)
class TensorInfo:
    """Where one tensor lives: shard file name, dtype code, shape, absolute byte range in the file."""

    name: str
    file: str
    dtype: str
    shape: tuple
    start: int
    end: int


def read_safetensors_header(path: Path) -> tuple[dict, dict | None, int]:
    """Parse and check a safetensors header without reading tensor data.

    Returns
    -------
    (infos, metadata, data_start): ``infos`` maps tensor name to (dtype, shape, begin, end)
    relative to ``data_start``.

    Raises
    ------
    InputError
        Truncated file, header that is not JSON, offsets outside the file or not matching
        dtype × shape.
    """
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise InputError("corrupted safetensors file: shorter than its 8-byte header length", path)
            (n,) = struct.unpack("<Q", head)
            if n > size - 8 or n > 100_000_000:
                raise InputError(f"corrupted safetensors file: header of {n} bytes in a {size}-byte file", path)
            raw = f.read(n)
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", path) from None
    try:
        header = json.loads(raw.decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError("not an object")
    except (UnicodeDecodeError, ValueError) as e:
        raise InputError(f"corrupted safetensors file: bad header ({e})", path) from None
    metadata = header.pop("__metadata__", None)
    data_start, data_len = 8 + n, size - 8 - n
    infos, end_max = {}, 0
    for name, h in header.items():
        try:
            dtype, shape, (b, end) = h["dtype"], tuple(int(s) for s in h["shape"]), h["data_offsets"]
            need = _DTYPE_SIZES[dtype] * int(np.prod(shape, dtype=np.int64))
        except (KeyError, TypeError, ValueError):
            raise InputError(f"corrupted safetensors file: bad entry for tensor {name!r}", path) from None
        if not (0 <= b <= end <= data_len) or end - b != need:
            raise InputError(f"corrupted safetensors file: tensor {name!r} lies outside the file "
                             f"(truncated?)", path)
        infos[name] = (dtype, shape, int(b), int(end))
        end_max = max(end_max, int(end))
    if end_max != data_len:
        raise InputError(f"corrupted safetensors file: {data_len} data bytes, header describes {end_max}", path)
    return infos, metadata, data_start


@dataclass
class ModelFiles:
    """A model folder read lazily: config, tokenizer, tensor locations, and vocabulary roles.

    Attributes
    ----------
    shards : list of str
        Weight file names (one for an unsharded checkpoint).
    index : dict or None
        The parsed ``model.safetensors.index.json`` (sharded checkpoints).
    input_key : str
        Input embedding matrix, shape (n_rows, d).
    output_keys : list of str
        Other 2-D tensors with one row per token (untied LM heads / output embeddings).
    bias_keys : list of str
        1-D tensors with one entry per token (LM-head biases).
    tied : bool
        ``tie_word_embeddings`` of the config (the output embedding is the input matrix).
    """

    path: Path
    config: dict
    tokenizer: Tokenizer
    tensors: dict
    shards: list
    metadata: dict
    index: dict | None = None
    input_key: str = ""
    output_keys: list = field(default_factory=list)
    bias_keys: list = field(default_factory=list)
    tied: bool = True

    @property
    def n_rows(self) -> int:
        return int(self.tensors[self.input_key].shape[0])

    @property
    def dim(self) -> int:
        return int(self.tensors[self.input_key].shape[1])

    @property
    def per_token_keys(self) -> list[str]:
        return [self.input_key] + self.output_keys + self.bias_keys

    def read(self, key: str):
        """One tensor as a torch tensor in its stored dtype (only that tensor is read)."""
        from safetensors import safe_open

        info = self.tensors[key]
        try:
            with safe_open(str(self.path / info.file), framework="pt") as f:
                return f.get_tensor(key)
        except Exception as e:  # safetensors raises its own error types
            raise InputError(f"cannot read tensor {key}: {e}", self.path / info.file) from None

    def matrix(self, key: str | None = None) -> np.ndarray:
        """A float32 numpy copy of a per-token tensor (default: the input embeddings).

        Read from the file in chunks and converted with numpy (no torch, no second full copy):
        memory is the float32 result only.
        """
        info = self.tensors[key or self.input_key]
        out = np.empty(info.shape, dtype=np.float32)
        flat = out.reshape(-1)
        size = FLOAT_DTYPES[info.dtype]
        step = (_CHUNK // size) * size
        with open(self.path / info.file, "rb") as f:
            f.seek(info.start)
            done = 0
            for a in range(info.start, info.end, step):
                raw = f.read(min(step, info.end - a))
                vals = decode_floats(raw, info.dtype)
                flat[done:done + len(vals)] = vals
                done += len(vals)
        return out


def load_tokenizer_only(path: str | os.PathLike) -> Tokenizer:
    """The ``tokenizers.Tokenizer`` of a model folder (``tokenizer.json``), without the weights."""
    from tokenizers import Tokenizer

    path = Path(path)
    if not path.is_dir():
        raise InputError("not a model folder", path)
    if not (path / "tokenizer.json").is_file():
        raise InputError("no tokenizer.json in the model folder (a fast Hugging Face tokenizer is needed)", path)
    try:
        return Tokenizer.from_file(str(path / "tokenizer.json"))
    except Exception as e:  # the tokenizers library raises plain Exceptions
        raise InputError(f"cannot read tokenizer: {e}", path / "tokenizer.json") from None


def weight_files(path: Path) -> tuple[list[str], dict | None]:
    """Shard file names of a model folder and its parsed index (None when unsharded).

    Raises
    ------
    InputError
        No safetensors weights, an index that is not valid, or an index naming a missing shard.
    """
    if (path / INDEX_NAME).is_file():
        index = read_json(path / INDEX_NAME)
        wm = index.get("weight_map") if isinstance(index, dict) else None
        if not isinstance(wm, dict) or not wm or not all(isinstance(v, str) for v in wm.values()):
            raise InputError("index has no weight_map of tensor name → shard file", path / INDEX_NAME)
        shards = sorted(set(wm.values()))
        for s in shards:
            if Path(s).name != s or s.startswith("."):
                raise InputError(f"index names shard {s!r}, which is not a file name in the folder", path / INDEX_NAME)
            if not (path / s).is_file():
                raise InputError(f"index names shard {s}, which is missing from the folder", path / INDEX_NAME)
        return shards, index
    if (path / SINGLE_NAME).is_file():
        return [SINGLE_NAME], None
    other = "pytorch_model.bin" if (path / "pytorch_model.bin").exists() else None
    hint = f"; found {other}, which is not read (pickles are never loaded): convert it to safetensors" if other else ""
    raise InputError(f"no model.safetensors or {INDEX_NAME} in the model folder{hint}", path)


def read_model_dir(path: str | os.PathLike) -> tuple[dict, Tokenizer]:
    """Check a model folder and read its config and tokenizer (not the weights).

    Raises
    ------
    InputError
        When ``tokenizer.json``, the safetensors weights or ``config.json`` is missing.
    """
    path = Path(path)
    tokenizer = load_tokenizer_only(path)
    weight_files(path)
    if not (path / "config.json").is_file():
        raise InputError("no config.json in the model folder", path)
    return read_json(path / "config.json"), tokenizer


def open_model(path: str | os.PathLike) -> ModelFiles:
    """Read config, tokenizer and every shard's header (no tensor data) and find the vocabulary roles.

    Raises
    ------
    InputError
        Missing files, a missing or corrupted shard, a tensor the index places in a shard that
        lacks it, or no input embedding matrix.
    """
    path = Path(path)
    config, tokenizer = read_model_dir(path)
    shards, index = weight_files(path)
    tensors: dict[str, TensorInfo] = {}
    metadata = {}
    for s in shards:
        infos, meta, data_start = read_safetensors_header(path / s)
        metadata[s] = meta
        for name, (dtype, shape, b, e) in infos.items():
            tensors[name] = TensorInfo(name, s, dtype, shape, data_start + b, data_start + e)
    if index is not None:
        for name, s in index["weight_map"].items():
            if name not in tensors or tensors[name].file != s:
                raise InputError(f"index places tensor {name} in {s}, which does not hold it", path / INDEX_NAME)
    mf = ModelFiles(path, config, tokenizer, tensors, shards, metadata, index)
    _find_roles(mf)
    return mf


def _find_roles(mf: ModelFiles) -> None:
    t = mf.tensors
    where = mf.path / (INDEX_NAME if mf.index is not None else SINGLE_NAME)
    inputs = [k for k in t if k.endswith(INPUT_SUFFIXES) and len(t[k].shape) == 2]
    if not inputs:
        vs = mf.config.get("vocab_size")
        inputs = [k for k in t if len(t[k].shape) == 2 and "embed" in k and t[k].shape[0] == vs]
    if not inputs:
        raise InputError("no input embedding matrix found "
                         f"(looked for *{'/*'.join(INPUT_SUFFIXES)})", where)
    mf.input_key = min(inputs, key=len)
    n, d = t[mf.input_key].shape
    mf.output_keys = [k for k in t if k != mf.input_key and len(t[k].shape) == 2 and t[k].shape == (n, d)]
    mf.bias_keys = [k for k in t if len(t[k].shape) == 1 and t[k].shape[0] == n]
    for k in mf.per_token_keys:
        if t[k].dtype not in FLOAT_DTYPES:
            raise InputError(f"tensor {k} is stored as {t[k].dtype}; only F32, F16, BF16 and F64 "
                             "vocabulary tensors can be grown", where)
    mf.tied = bool(mf.config.get("tie_word_embeddings", True))
    tok_size = mf.tokenizer.get_vocab_size(with_added_tokens=True)
    if tok_size > n:
        raise InputError(f"tokenizer has {tok_size} tokens but the embedding matrix {mf.input_key} "
                         f"has only {n} rows", mf.path)


def is_lm(config: dict) -> bool:
    """True for causal language models (the loss is then reported by ``vocab eval``)."""
    return any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in config.get("architectures") or [])


def check_output(src: Path, out: Path, force: bool, inputs: Iterable[str | os.PathLike] = ()) -> None:
    """Refuse an output folder that would destroy the model, an input, or a folder xling did not write.

    Raises
    ------
    OutputError
        ``out`` is the model folder, one of its parents or inside it; ``out`` holds one of
        ``inputs``; ``out`` is a file; ``out`` is a non-empty folder and ``force`` is off, or one
        xling did not write (neither ``.xling-output`` nor ``xling-vocab.json``).
    """
    s, o = src.resolve(), out.resolve()
    if o == s or o in s.parents:
        raise OutputError("the output folder must not be the model folder or contain it", out)
    if s in o.parents:
        raise OutputError("the output folder must not be inside the model folder", out)
    check_output_folder(out, force=force, inputs=[src, *inputs], legacy_markers=(MARKER,))


def decode_floats(raw: bytes, code: str) -> np.ndarray:
    """Raw little-endian bytes of dtype ``code`` (F64, F32, F16, BF16) → float32 values."""
    if code == "BF16":
        return (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
    return np.frombuffer(raw, dtype={"F64": "<f8", "F32": "<f4", "F16": "<f2"}[code]).astype(np.float32)


def encode_floats(values: np.ndarray, code: str) -> bytes:
    """float values → raw little-endian bytes of dtype ``code`` (BF16: round to nearest even,
    as torch does)."""
    v = np.ascontiguousarray(values, dtype=np.float32).reshape(-1)
    if code == "BF16":
        u = v.view(np.uint32)
        rounded = ((u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)).astype("<u2")
        nan = np.isnan(v)
        if nan.any():
            rounded[nan] = ((u[nan] >> np.uint32(16)) | np.uint32(0x40)).astype("<u2")
        return rounded.tobytes()
    with np.errstate(over="ignore"):  # out of float16 range → inf, as torch does
        return v.astype({"F64": "<f8", "F32": "<f4", "F16": "<f2"}[code]).tobytes()


def _row_bytes(rows: np.ndarray, code: str) -> bytes:
    """float rows → raw little-endian bytes of dtype ``code``."""
    return encode_floats(rows, code)


def _copy_range(src, dst, start: int, end: int) -> None:
    src.seek(start)
    left = end - start
    while left > 0:
        buf = src.read(min(_CHUNK, left))
        if not buf:
            raise InputError("file shrank while it was copied", src.name)
        dst.write(buf)
        left -= len(buf)


def write_grown_shard(mf: ModelFiles, shard: str, dst: Path, tails: dict[str, tuple[int, np.ndarray]]) -> int:
    """Stream one shard to ``dst``, replacing the rows from ``first`` on of the tensors in ``tails``.

    Parameters
    ----------
    tails : dict name → (first, rows)
        Rows ``first`` onwards of the tensor become ``rows`` (float, shape (n_total - first, ...)),
        converted to the stored dtype; rows before ``first`` are copied byte for byte.

    Returns
    -------
    int : bytes of tensor data written.
    """
    infos = sorted((i for i in mf.tensors.values() if i.file == shard), key=lambda i: i.start)
    header, offset = {}, 0
    plan: list[tuple[TensorInfo, int, int, bytes | None]] = []
    for i in infos:
        if i.name in tails:
            first, rows = tails[i.name]
            row_size = (i.end - i.start) // max(i.shape[0], 1)
            payload = _row_bytes(rows, i.dtype)
            shape = (first + rows.shape[0],) + tuple(i.shape[1:])
            plan.append((i, i.start, i.start + first * row_size, payload))
            size = first * row_size + len(payload)
        else:
            shape, size = i.shape, i.end - i.start
            plan.append((i, i.start, i.end, None))
        header[i.name] = {"dtype": i.dtype, "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    meta = mf.metadata.get(shard)
    if meta is not None:
        header = {"__metadata__": meta, **header}
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    with open(mf.path / shard, "rb") as src, open(dst, "wb") as out:
        out.write(struct.pack("<Q", len(raw)))
        out.write(raw)
        for _, a, b, new_rows in plan:
            _copy_range(src, out, a, b)
            if new_rows is not None:
                out.write(new_rows)
    return offset


def _link_or_copy(src: Path, dst: Path) -> str:
    try:
        os.link(src, dst)
        return "linked"
    except OSError:
        shutil.copy2(src, dst)
        return "copied"


def _copy_tree(src: Path, dst: Path) -> None:
    """``shutil.copytree`` that raises the first OSError itself (copytree gathers errors into a
    ``shutil.Error`` without errno, which the output layer could not report as one line)."""
    os.mkdir(dst)
    for item in src.iterdir():
        (_copy_tree if item.is_dir() else shutil.copy2)(item, dst / item.name)


def write_expanded(mf: ModelFiles, out: str | os.PathLike, tails: dict[str, tuple[int, np.ndarray]],
                   n_total: int, report: dict, *, force: bool = False,
                   write_tokenizer: Callable[[Path], list] | None = None,
                   inputs: Iterable[str | os.PathLike] = ()) -> dict:
    """Write the expanded model folder.

    Parameters
    ----------
    tails : dict name → (first, rows)
        For every per-token tensor: rows from ``first`` on (new tokens and padding), float.
    n_total : int
        Rows of every per-token tensor afterwards (``config.json``'s ``vocab_size``).
    report : dict
        Written as ``xling-vocab.json`` (the marker ``--force`` looks for), with a ``files`` entry
        added: which shards were rewritten, linked or copied.
    write_tokenizer : callable(tmp_folder) → list of warnings, optional
        Rewrites the tokenizer files in the temporary output folder (after the other files were
        copied there).
    inputs : paths
        The run's other inputs (token list, corpus, text): ``out`` may never hold one.

    Returns
    -------
    dict : the ``files`` entry of the report.
    """
    out = Path(out)
    inputs = list(inputs)
    check_output(mf.path, out, force, inputs)
    files: dict = {"rewritten": [], "linked": [], "copied": []}
    with output_folder(out, force=force, inputs=[mf.path, *inputs], legacy_markers=(MARKER,)) as tmp:
        # 1. every other file (tokenizer files too: write_tokenizer then replaces them)
        for item in mf.path.iterdir():
            if (item.name in ("config.json", INDEX_NAME, MARKER) or item.name.endswith(STALE_WEIGHTS)
                    or item.name.startswith(".")):
                continue
            if item.name in ("onnx", "openvino") and item.is_dir():
                continue
            (_copy_tree if item.is_dir() else shutil.copy2)(item, tmp / item.name)
        warnings = list(write_tokenizer(tmp)) if write_tokenizer is not None else []
        # 2. shards: rewrite those with a per-token tensor, hard-link the others
        grown = {mf.tensors[k].file for k in tails}
        sizes = {}
        for s in mf.shards:
            if s in grown:
                sizes[s] = write_grown_shard(mf, s, tmp / s, {k: v for k, v in tails.items()
                                                             if mf.tensors[k].file == s})
                files["rewritten"].append(s)
            else:
                files[_link_or_copy(mf.path / s, tmp / s)].append(s)
                sizes[s] = sum(i.end - i.start for i in mf.tensors.values() if i.file == s)
        if mf.index is not None:
            index = dict(mf.index)
            index["metadata"] = dict(index.get("metadata") or {})
            index["metadata"]["total_size"] = int(sum(sizes.values()))
            _write_json(tmp / INDEX_NAME, index)
        # 3. config with the new vocabulary size, report (xling-vocab.json); the output layer adds
        # its marker and swaps the folder into place
        config = dict(mf.config)
        config["vocab_size"] = int(n_total)
        _write_json(tmp / "config.json", config)
        report = dict(report, files=files, tokenizer_warnings=warnings)
        _write_json(tmp / MARKER, report)
    return {"files": files, "tokenizer_warnings": warnings}


def _write_json(path: Path, obj: dict) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=2)
        f.write("\n")
