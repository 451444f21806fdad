"""Anchor datasets from the installed Debian packages: counts, timings, and checks against references.

    python bench/bench_data.py [--repeat 3] [--json out.json]

Needs the Debian packages unicode-cldr-core, libreoffice-l10n-si, iso-codes and
dict-freedict-eng-fra (skips what is missing). With the public en-fr benchmark in
$XLING_BENCH (default: `xling data bench en-fr`'s folder in the XDG cache) it also measures vocabulary coverage and the
agreement of FreeDict pairs with the MUSE-derived en-fr dictionaries.

References, run in the same process:
* Python's ``gettext.GNUTranslations`` parses the same .mo files (speed ratio, identical catalogs);
* the en-fr benchmark dictionaries, cut from the same FreeDict by an independent script (recall
  of their pairs: a cross-check of the dictd parser);
* the figures of shared/design/DATA.md (eng-fra ≈12.6k single-word lower-case pairs,
  CLDR en-si ≈430 pairs, en-si total ≈1.5k).
"""
from __future__ import annotations

import argparse
import gettext
import glob
import json
import os
import platform
import statistics
import time
from pathlib import Path

from xling.data.anchors import dictionary_stats, merge
from xling.data.benchmarks import bench_dir
from xling.data.cldr import cldr_pairs
from xling.data.clean import CleanOptions, clean_pairs
from xling.data.dictd import read_dictd
from xling.data.dictionary import read_dictionary
from xling.data.gettext_catalog import find_catalogs, gettext_pairs, read_catalog, read_mo

BENCH_DIR = bench_dir("en-fr")  # $XLING_BENCH, else the XDG cache
CLDR = Path("/usr/share/unicode/cldr/common/annotations")
LO_SI = Path("/usr/lib/libreoffice/program/resource/si/LC_MESSAGES")
ISO_SI = sorted(glob.glob("/usr/share/locale/si/LC_MESSAGES/iso_*.mo"))
ENG_FRA = Path("/usr/share/dictd/freedict-eng-fra")


def timed(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def en_si(repeat):
    def build():
        parts = [cldr_pairs(CLDR / "en.xml", CLDR / "si.xml"),
                 gettext_pairs([read_catalog(p) for p in find_catalogs([LO_SI])], origin="gettext:libreoffice"),
                 gettext_pairs([read_catalog(p) for p in ISO_SI], origin="gettext:iso-codes")]
        raw = merge([d for d, _ in parts])
        return parts, raw, clean_pairs(raw, CleanOptions("latin", "sinhala", lower=True))

    sec, (parts, raw, (clean, rep)) = timed(build, repeat)
    st = dictionary_stats(clean)
    return {"seconds": sec, "per_source_raw_pairs": {d.origins[0] if len(d) else r.source: len(d)
                                                     for d, r in parts},
            "raw_pairs": len(raw), "clean": rep.as_dict(), "pairs": len(clean), "src_words": st["src_words"],
            "tgt_words": st["tgt_words"], "origins": st["origins"], "tgt_scripts": st["tgt_scripts"],
            "zwj_pairs": sum("\u200d" in t for _, t in clean.pairs)}


def mo_vs_python(repeat):
    files = sorted(LO_SI.glob("*.mo"))

    def ours():
        return [read_mo(p) for p in files]

    def ref():
        out = []
        for p in files:
            with open(p, "rb") as f:
                out.append(gettext.GNUTranslations(f)._catalog)
        return out

    t_ours, cats = timed(ours, repeat)
    t_ref, refs = timed(ref, repeat)
    same = all({(m.context + "\x04" if m.context else "") + m.msgid: m.msgstr for m in c.messages}
               == {k: v for k, v in r.items() if k and not isinstance(k, tuple)} for c, r in zip(cats, refs, strict=True)
               if not any(isinstance(k, tuple) for k in r))
    return {"files": len(files), "messages": sum(len(c.messages) for c in cats), "xling_s": t_ours,
            "python_gettext_s": t_ref, "ratio_xling_over_python": t_ours / t_ref, "identical_catalogs": same}


def en_fr(repeat):
    sec, (d, rep) = timed(lambda: read_dictd(ENG_FRA), repeat)
    c, crep = clean_pairs(d, CleanOptions("latin", "latin", lower=True))
    c5, _ = clean_pairs(d, CleanOptions("latin", "latin", lower=True, max_translations=5))
    out = {"read_seconds": sec, "entries": rep.read, "raw_pairs": len(d), "reader_skips": dict(rep.skipped),
           "clean": crep.as_dict(), "pairs": len(c), "pairs_max5": len(c5),
           "src_words": len(c.src_words), "tgt_words": len(c.tgt_words)}
    en, fr = BENCH_DIR / "en.vec", BENCH_DIR / "fr.vec"
    if en.exists() and fr.exists():
        from xling.data.vectors import load_embeddings

        ev, fv = load_embeddings(en), load_embeddings(fr)
        r, cov = c.restrict(ev.key_to_index, fv.key_to_index)
        out["coverage_bench_vectors"] = cov.as_dict()
        gold = {}
        for name in ("en-fr.train.tsv", "en-fr.test.tsv"):
            g, _ = read_dictionary(BENCH_DIR / name)
            for s, t in g.pairs:
                gold.setdefault(s, set()).add(t)
        # the benchmark dictionaries were cut from the same FreeDict by an independent script
        # (shared/bench/build_en_fr.*): a cross-check of the parser, not a quality measure
        ours = set(r.pairs)
        gold_pairs = {(s, t) for s, ts in gold.items() for t in ts}
        out["bench_dict_crosscheck"] = {"bench_pairs": len(gold_pairs), "ours_in_vocab": len(ours),
                                        "bench_pairs_found": len(gold_pairs & ours),
                                        "recall": round(len(gold_pairs & ours) / max(1, len(gold_pairs)), 4)}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    res = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"}
    if (CLDR / "si.xml").exists() and LO_SI.exists() and ISO_SI:
        res["en_si"] = en_si(a.repeat)
        res["mo_vs_python_gettext"] = mo_vs_python(a.repeat)
        print(f"en-si: {res['en_si']['pairs']} pairs (DATA.md: ≈1.5k) from {res['en_si']['raw_pairs']} raw "
              f"in {res['en_si']['seconds']:.2f} s; CLDR {res['en_si']['origins'].get('cldr')} (DATA.md ≈430)")
        m = res["mo_vs_python_gettext"]
        print(f".mo: {m['messages']} messages in {m['files']} files: xling {m['xling_s']*1e3:.0f} ms, "
              f"python gettext {m['python_gettext_s']*1e3:.0f} ms, ratio {m['ratio_xling_over_python']:.2f}, "
              f"identical={m['identical_catalogs']}")
    else:
        print("en-si: skipped (install unicode-cldr-core, libreoffice-l10n-si, iso-codes)")
    if ENG_FRA.with_suffix(".index").exists():
        res["en_fr"] = en_fr(a.repeat)
        f = res["en_fr"]
        print(f"en-fr: {f['pairs']} single-word lower-case pairs (DATA.md: ≈12.6k), {f['pairs_max5']} with "
              f"max 5 translations; read {f['entries']} entries in {f['read_seconds']:.2f} s")
        if "coverage_bench_vectors" in f:
            print(f"  in bench vectors: {f['coverage_bench_vectors']['pairs_kept']} pairs, source coverage "
                  f"{f['coverage_bench_vectors']['coverage']:.3f}; bench dictionaries "
                  f"(same FreeDict, independent parser) found: {f['bench_dict_crosscheck']['bench_pairs_found']}/"
                  f"{f['bench_dict_crosscheck']['bench_pairs']}")
    else:
        print("en-fr: skipped (install dict-freedict-eng-fra)")
    if a.json:
        Path(a.json).write_text(json.dumps(res, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return res


if __name__ == "__main__":
    main()
