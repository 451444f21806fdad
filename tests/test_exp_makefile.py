"""experiments/Makefile end to end on tiny data made here (never the real packages or ~/.cache).

Each target runs with its variables pointed at the tiny files; a target whose xling command is
not in this checkout yet is skipped. Afterwards ``make -q`` must say everything is up to date.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from data_fixtures import cldr_xml, mo_bytes, tiny_e5, tiny_tokenizer, write_vec

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
XLING = f"{sys.executable} -m xling.cli.main"

pytestmark = pytest.mark.skipif(shutil.which("make") is None or not (EXPERIMENTS / "Makefile").exists(),
                                reason="needs GNU make and experiments/Makefile")
pytestmark = [pytestmark, pytest.mark.slow]  # each Makefile run takes 7-50 s


def make(*args: str, check: bool = True, **variables) -> subprocess.CompletedProcess:
    cmd = ["make", "--no-print-directory", "-C", str(EXPERIMENTS), *args,
           f"XLING={XLING}", f"PYTHON={sys.executable}", *(f"{k}={v}" for k, v in variables.items())]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if check and res.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({res.returncode}):\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    return res


def has_command(cli, *name: str) -> bool:
    code, _, _ = cli(*name, "--help")
    return code == 0


def require(cli, *name: str):
    if not has_command(cli, *name):
        pytest.skip(f"`xling {' '.join(name)}` is not in this checkout yet")


# ============================================================================ en→fr
BUILDER = """#!/usr/bin/env bash
# a stand-in for `xling data bench en-fr -o DIR` (called with DIR last): the same files, tiny and synthetic
set -euo pipefail
mkdir -p "$1"
"$PYTHON" - "$1" <<'EOF'
import sys
import numpy as np
out = sys.argv[1]
rng = np.random.default_rng(7)
n, ds, dt = 300, 16, 24
x = rng.standard_normal((n, ds))
q, _ = np.linalg.qr(rng.standard_normal((dt, ds)))      # semi-orthogonal: 16-d into 24-d
y = x @ q.T + 0.02 * rng.standard_normal((n, dt))
def vec(path, prefix, m):
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"{n} {m.shape[1]}\\n")
        for i, row in enumerate(m):
            f.write(f"{prefix}{i} " + " ".join(f"{v:.6f}" for v in row) + "\\n")
vec(f"{out}/en.vec", "en", x)
vec(f"{out}/fr.vec", "fr", y)
with open(f"{out}/en-fr.train.tsv", "w") as f:
    f.writelines(f"en{i}\\tfr{i}\\n" for i in range(0, 200))
with open(f"{out}/en-fr.test.tsv", "w") as f:
    f.writelines(f"en{i}\\tfr{i}\\n" for i in range(200, 300))
EOF
"""


def test_en_fr_builds_data_aligns_evaluates_reports(tmp_path, cli):
    require(cli, "align")
    require(cli, "lexicon", "eval")
    builder = tmp_path / "build.sh"
    builder.write_text(BUILDER)
    bench, results = tmp_path / "bench", tmp_path / "results"
    v = dict(XLING_BENCH=bench, BENCH_BUILD=f"env PYTHON={sys.executable} bash {builder}", RESULTS=results,
             RECIPES="procrustes supervised")
    make("-j2", "en-fr", **v)
    assert (bench / "en-fr.test.tsv").exists()  # the builder ran
    for recipe in ("procrustes", "supervised"):
        rec = json.loads((results / "en-fr" / recipe / "record.json").read_text())
        assert rec["recipe"] == recipe
        ev = json.loads((results / "en-fr" / recipe / "eval.json").read_text())
        by = {r["retrieval"]: r for r in ev["results"]}
        assert by["csls"]["p@1"] >= 0.95 and by["nn"]["p@1"] >= 0.95
    md = (results / "en-fr" / "report" / "report.md").read_text(encoding="utf-8")
    assert "| procrustes (csls) | csls |" in md and "(p1-by-band.png)" in md
    assert (results / "en-fr" / "report" / "p1-by-band.png").stat().st_size > 1000
    assert make("-q", "en-fr", check=False, **v).returncode == 0   # a second make does nothing


# ============================================================================ English–Sinhala
SI_CONSONANTS = [chr(c) for c in range(0x0D9A, 0x0DC7) if chr(c).isalpha()]


@pytest.fixture
def en_si_sources(tmp_path):
    """CLDR annotations, a LibreOffice-like catalog folder, iso-codes catalogs, and a tiny e5 model."""
    wordfreq = pytest.importorskip("wordfreq")
    rng = np.random.default_rng(3)
    en = [w for w in wordfreq.top_n_list("en", 600) if w.isalpha() and w.isascii() and len(w) > 3][:80]
    si = []
    while len(si) < len(en):
        w = "".join(rng.choice(SI_CONSONANTS, size=int(rng.integers(3, 6))))
        if w not in si:
            si.append(w)
    cps = [chr(0x1F600 + i) for i in range(60)]
    cldr = tmp_path / "cldr"
    cldr.mkdir()
    (cldr / "en.xml").write_text(cldr_xml("en", dict(zip(cps, en[:60], strict=False))), encoding="utf-8")
    (cldr / "si.xml").write_text(cldr_xml("si", dict(zip(cps, si[:60], strict=False))), encoding="utf-8")
    header = {"": "Content-Type: text/plain; charset=UTF-8\nX-Accelerator-Marker: ~\n"}
    lo = tmp_path / "lo-si"
    lo.mkdir()
    (lo / "sc.mo").write_bytes(mo_bytes({**header, **{e.capitalize(): s for e, s in zip(en[60:75], si[60:75], strict=False)},
                                         "Many words here": " ".join(si[:20] * 3)}))
    locale = tmp_path / "locale"
    (locale / "si" / "LC_MESSAGES").mkdir(parents=True)
    (locale / "si" / "LC_MESSAGES" / "iso_3166-1.mo").write_bytes(
        mo_bytes({**header, **{e.capitalize(): s for e, s in zip(en[75:], si[75:], strict=False)}}))
    # one embedding matrix for both languages: a translation pair shares a base vector
    pieces = ["\u2581" + w for w in en + si] + sorted({c for w in en + si for c in w})
    h = 32
    base = rng.standard_normal((len(en), h))
    rows = [rng.standard_normal(h), rng.standard_normal(h), rng.standard_normal(h)]  # <unk>, ▁, (spare)
    rows = rows[:2] + list(base + 0.05 * rng.standard_normal(base.shape)) \
        + list(base + 0.05 * rng.standard_normal(base.shape)) \
        + list(rng.standard_normal((len(pieces) - 2 * len(en), h)))
    matrix = np.asarray(rows, dtype=np.float32)
    tiny_e5(tmp_path / "e5.bin", matrix)
    tiny_tokenizer(tmp_path / "tokenizer.json", pieces)
    return dict(CLDR=cldr, LO_SI=lo, LOCALE=locale, RESULTS=tmp_path / "results", EN_SI_EN_TOP=100,
                E5_FLAGS=f"--model {tmp_path / 'e5.bin'} --tokenizer {tmp_path / 'tokenizer.json'}"), en, si


def test_e5_matrix_dequantised(tmp_path):
    """The reader of the E5S1 file gives back the quantised matrix (Q4_0: 4 bits and a scale a block)."""
    sys.path.insert(0, str(EXPERIMENTS))
    try:
        import e5_words
    finally:
        sys.path.remove(str(EXPERIMENTS))
    m = np.random.default_rng(0).standard_normal((5, 64)).astype(np.float32)
    tiny_e5(tmp_path / "m.bin", m)
    got = e5_words.read_word_matrix(str(tmp_path / "m.bin"))
    assert got.shape == (5, 64)
    step = np.abs(m.reshape(5, 2, 32)).max(axis=2).repeat(32, axis=1) / 7.0
    assert np.all(np.abs(got - m) <= step / 2 + 1e-3)
    assert np.corrcoef(got.ravel(), m.ravel())[0, 1] > 0.98


def test_en_si(en_si_sources, cli):
    """Anchors → vocabularies → e5 vectors; then, with `align` and `lexicon eval`, the whole en-si report."""
    v, en, si = en_si_sources
    results = v["RESULTS"]
    vecs = [str(results / "en-si" / "en.vec"), str(results / "en-si" / "si.vec")]
    make("-j2", *vecs, **v)
    stats = json.loads((results / "en-si.stats.json").read_text(encoding="utf-8"))
    assert stats["pairs"] == len(en)
    from xling.data.vectors import load_embeddings

    e = load_embeddings(vecs[0])
    s = load_embeddings(vecs[1])
    assert e.dim == s.dim == 32
    # English: wordfreq order (the most frequent English word first), every anchor word kept
    assert e.words[0] == "the" and set(en) <= set(e.words)
    # Sinhala: catalog counts first (the 20 words of the long message), then the other anchor words
    assert set(si) == set(s.words) and set(s.words[:20]) == set(si[:20])
    # a translation pair is built from rows sharing a base vector: nearest neighbours across languages
    x, y = e.subset(en).normalize().vectors, s.subset(si).normalize().vectors
    assert np.mean(np.argmax(x @ y.T, axis=1) == np.arange(len(en))) > 0.95
    assert make("-q", *vecs, check=False, **v).returncode == 0

    require(cli, "align")
    require(cli, "lexicon", "eval")
    make("-j2", "en-si", EN_SI_RECIPES="procrustes", **v)
    md = (results / "en-si" / "report" / "report.md").read_text(encoding="utf-8")
    assert "## Dictionaries" in md and f"| en-si.stats | {len(en)} |" in md
    for run in ("none", "procrustes"):
        ev = json.loads((results / "en-si" / run / "eval.json").read_text())
        assert {r["retrieval"]: r for r in ev["results"]}["csls"]["p@1"] >= 0.8
    assert make("-q", "en-si", EN_SI_RECIPES="procrustes", check=False, **v).returncode == 0


# ============================================================================ CADE
def test_cade_two_corpora(tmp_path, cli):
    require(cli, "cade", "train")
    rng = np.random.default_rng(5)
    words = [f"w{i}" for i in range(40)]
    for name in ("old", "new"):
        lines = [" ".join(rng.choice(words, size=8)) for _ in range(400)]
        (tmp_path / f"{name}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    v = dict(RESULTS=tmp_path / "results", CADE_A=tmp_path / "old.txt", CADE_B=tmp_path / "new.txt",
             CADE_FLAGS="--dim 8 --epochs 1 --min-count 1 --threads 1 --seed 0",
             SHIFT_FLAGS="--min-count 1 --top 10")
    make("cade", **v)
    shift = json.loads((tmp_path / "results" / "cade" / "shift.json").read_text())
    assert len(shift["top"]) == 10 and shift["shared"] == 40
    md = (tmp_path / "results" / "cade" / "report" / "report.md").read_text(encoding="utf-8")
    assert "old.vec → new.vec" in md and shift["top"][0]["word"] in md
    assert make("-q", "cade", check=False, **v).returncode == 0


# ============================================================================ vocabulary expansion
def tiny_bert(path: Path, words: list[str]) -> Path:
    """A one-layer BERT with a WordPiece tokenizer over letters and a few whole words."""
    import torch
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece
    from transformers import BertConfig, BertModel

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = specials + list(letters) + [f"##{c}" for c in letters] + words
    torch.manual_seed(0)
    model = BertModel(BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                 intermediate_size=64, max_position_embeddings=64)).eval()
    path.mkdir(parents=True)
    model.save_pretrained(str(path), safe_serialization=True)
    tok = Tokenizer(WordPiece({t: i for i, t in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]",
                                                       special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tok.add_special_tokens(specials)
    tok.save(str(path / "tokenizer.json"))
    (path / "vocab.txt").write_text("".join(t + "\n" for t in vocab), encoding="utf-8")
    return path


def test_vocab_methods(tmp_path, cli):
    require(cli, "vocab", "expand")
    pytest.importorskip("transformers")
    rng = np.random.default_rng(11)
    old = ["the", "cat", "dog", "house", "small"]
    new = ["chat", "chien", "maison", "petit", "jardin"]
    lines = [" ".join(rng.choice(old + new, size=8)) for _ in range(300)]
    (tmp_path / "train.txt").write_text("\n".join(lines[:260]) + "\n", encoding="utf-8")
    (tmp_path / "heldout.txt").write_text("\n".join(lines[260:]) + "\n", encoding="utf-8")
    # aligned static vectors: each French word next to its English translation
    base = rng.standard_normal((5, 8))
    (tmp_path / "aligned").mkdir()
    write_vec(tmp_path / "aligned" / "en.vec", old, base)
    write_vec(tmp_path / "aligned" / "fr.vec", new, base + 0.01 * rng.standard_normal(base.shape))
    (tmp_path / "aligned" / "record.json").write_text("{}")
    v = dict(RESULTS=tmp_path / "results", MODEL_DIR=tiny_bert(tmp_path / "bert", old),
             VOCAB_TRAIN=tmp_path / "train.txt", VOCAB_HELDOUT=tmp_path / "heldout.txt", VOCAB_TOP=5,
             VOCAB_METHODS="subword-mean aligned", VOCAB_ALIGN_DIR=tmp_path / "aligned",
             VOCAB_SRC_VECTORS=tmp_path / "aligned" / "en.vec", VOCAB_TGT_VECTORS=tmp_path / "aligned" / "fr.vec",
             VOCAB_EVAL_FLAGS="--max-lines 40 --threads 1")
    make("-j2", "vocab", **v)
    tokens = (tmp_path / "results" / "vocab" / "tokens.tsv").read_text(encoding="utf-8").split()
    assert set(new) <= set(tokens)
    fid = {m: json.loads((tmp_path / "results" / "vocab" / f"{m}.eval.json").read_text())["fidelity_mean"]
           for m in ("subword-mean", "aligned")}
    assert all(-1.0 <= f <= 1.0 for f in fid.values())
    md = (tmp_path / "results" / "vocab" / "report" / "report.md").read_text(encoding="utf-8")
    assert "(vocab-fidelity.png)" in md and "| subword-mean |" in md and "| aligned |" in md
    assert make("-q", "vocab", check=False, **v).returncode == 0
