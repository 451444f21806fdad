"""`xling data ...`: build, clean, restrict, split and describe anchor dictionaries.

Readers (``dictd``, ``gettext``, ``cldr``, ``identical``) write raw pairs with their origin;
``clean``/``build`` apply the script-safe filters; ``restrict``, ``split`` and ``stats``
work on any dictionary file.
"""
from __future__ import annotations

import typer

from ..data.jsonfile import RecordKind
from . import options as opt
from .common import emit_json, err_console, escape, handle_errors, load_vectors, out_console, progress, signature, warn

app = typer.Typer(help="Anchor dictionaries: read real sources (dictd, gettext, CLDR, identical strings), "
                       "clean them script-safely, restrict to vocabularies, split, and describe.",
                  no_args_is_help=True)

# --------------------------------------------------------------------------- shared options
Output = typer.Option("-", "--output", "-o", help="Output dictionary (src<TAB>tgt<TAB>origin); '-' for stdout.")
NoOrigin = typer.Option(False, "--no-origin", help="Write two columns only (no origin column).")
WordPairs = typer.Option(False, "--word-pairs", help="Also pair words by position in short messages with the "
                                                     "same number of words on both sides (noisier).")
MaxWords = typer.Option(3, "--max-words", min=2, help="Longest message split into word pairs.")
SrcLang = typer.Option(None, "--src-lang", help="Source language code (e.g. en): sets the source script.")
TgtLang = typer.Option(None, "--tgt-lang", help="Target language code (e.g. si): sets the target script.")
SrcScript = typer.Option(None, "--src-script", case_sensitive=False,
                         help="Script every source letter must be in (overrides --src-lang; 'any' for none).")
TgtScript = typer.Option(None, "--tgt-script", case_sensitive=False,
                         help="Script every target letter must be in (overrides --tgt-lang; 'any' for none).")
Lower = typer.Option(False, "--lower", help="Lower-case words in scripts that have case (never others).")
MultiWord = typer.Option(False, "--multi-word", help="Keep entries with several words (default: single words).")
MaxTrans = typer.Option(None, "--max-translations", min=1, help="At most N translations per source word "
                                                                "(the first ones).")
NoNumerals = typer.Option(False, "--no-numerals", help="Drop numbers (default: numbers pass the script filter).")
KeepPunct = typer.Option(False, "--keep-typographic", help="Keep U+2010/U+2011 hyphens and U+2019 apostrophes "
                                                          "(default: written as ASCII - and ').")
SrcVec = typer.Option(None, "--src", help="Source vectors: keep/count pairs whose source word is in them.")
TgtVec = typer.Option(None, "--tgt", help="Target vectors: keep/count pairs whose target word is in them.")


def _check_outputs(output: str, json_out: bool) -> None:
    from ..data.errors import XlingError

    if json_out and output == "-":
        raise XlingError("--json prints on stdout: give the dictionary a file with -o")


def _console(output: str):
    """Summaries go to stdout unless stdout carries the dictionary."""
    return err_console if output == "-" else out_console


def _print_record(title: str, record: dict, output: str) -> None:
    from rich.table import Table

    from .common import state

    if state.quiet and output == "-":
        return
    t = Table(title=title, show_header=False, title_justify="left")
    for k, v in record.items():
        if isinstance(v, dict):
            v = ", ".join(f"{a}: {b}" for a, b in v.items()) or "-"
        elif isinstance(v, float):
            v = f"{v:.4f}"
        t.add_row(k.replace("_", " "), escape(str(v)))
    _console(output).print(t)


def _emit(record: dict, json_out: bool, title: str, output: str) -> None:
    """The record as JSON on stdout, or as a table."""
    if json_out:
        emit_json(record)
    else:
        _print_record(title, record, output)


def _write(d, output: str, no_origin: bool, dict_format: opt.DictFormat) -> None:
    from ..data.anchors import write_anchors

    write_anchors(d, output, with_origin=not no_origin, format=dict_format)


def _finish(d, reports: list, output: str, no_origin: bool, dict_format: opt.DictFormat, json_out: bool, title: str,
            **sig) -> None:
    _write(d, output, no_origin, dict_format)
    if not len(d):
        warn(f"no pair found: {output} is empty")
    sig_text = signature(**sig)
    record = {"output": output, "pairs": len(d), "sources": [r.as_dict() for r in reports], "signature": sig_text}
    if json_out:
        emit_json(record)
        return
    for r in reports:
        rd = r.as_dict()
        _print_record(f"{title}: {rd['path']}", {"entries read": rd["entries_read"], "pairs": rd["pairs"],
                                                 **{f"skipped: {k}": v for k, v in rd["skipped"].items()}}, output)
    _console(output).print(f"{len(d):,} pairs → {escape(output)}   [dim]{escape(sig_text)}[/]")


def _vocab(path: str | None, max_vocab: int | None, label: str):
    if path is None:
        return None
    return load_vectors(path, max_vocab=max_vocab, label=label).key_to_index


# --------------------------------------------------------------------------- readers
@app.command("dictd")
@handle_errors
def dictd_cmd(
    path: str = typer.Argument(..., help="dictd dictionary: NAME.index, NAME.dict.dz, or NAME "
                                         "(e.g. /usr/share/dictd/freedict-eng-fra)."),
    output: str = Output, no_origin: bool = NoOrigin, dict_format: opt.DictFormat = opt.DictFormat_,
    json_out: bool = opt.Json,
):
    """Read a dictd (FreeDict) dictionary: headword → each translation of each sense."""
    from ..data.dictd import read_dictd

    _check_outputs(output, json_out)
    with progress("reading dictd", unit="entries") as upd:
        d, rep = read_dictd(path, progress=upd)
    _finish(d, [rep], output, no_origin, dict_format, json_out, "dictd", source="dictd")


@app.command("gettext")
@handle_errors
def gettext_cmd(
    catalogs: list[str] = typer.Argument(..., help="Target-language catalogs (.mo/.po files or folders of them)."),
    src_catalog: list[str] | None = typer.Option(None, "--src-catalog", "-s",
                                                 help="Source-language catalogs of the same program(s) "
                                                      "(repeatable): pairs are msgstr(src) → msgstr(tgt), "
                                                      "joined on domain+context+msgid. Without: msgid → msgstr."),
    word_pairs: bool = WordPairs, max_words: int = MaxWords,
    include_fuzzy: bool = typer.Option(False, "--include-fuzzy", help="Keep fuzzy .po translations."),
    origin: str = typer.Option("gettext", "--origin", help="Origin label written with the pairs."),
    output: str = Output, no_origin: bool = NoOrigin, dict_format: opt.DictFormat = opt.DictFormat_,
    json_out: bool = opt.Json,
):
    """Read gettext catalogs (.po, .mo): single-word messages (and optionally word pairs) as pairs."""
    from ..data.gettext_catalog import find_catalogs, gettext_pairs, read_catalog

    _check_outputs(output, json_out)
    tgt = [read_catalog(p) for p in find_catalogs(catalogs)]
    src = [read_catalog(p) for p in find_catalogs(src_catalog)] if src_catalog else None
    d, rep = gettext_pairs(tgt, src, word_pairs=word_pairs, max_words=max_words, include_fuzzy=include_fuzzy,
                           origin=origin)
    _finish(d, [rep], output, no_origin, dict_format, json_out, "gettext", source="gettext", word_pairs=word_pairs,
            catalogs=len(tgt))


@app.command("cldr")
@handle_errors
def cldr_cmd(
    src_xml: str = typer.Argument(..., help="CLDR annotations of the source language "
                                            "(e.g. /usr/share/unicode/cldr/common/annotations/en.xml)."),
    tgt_xml: str = typer.Argument(..., help="CLDR annotations of the target language (e.g. .../si.xml)."),
    fields: str = typer.Option("tts", "--fields", help="tts: short names; tts+keywords: also single keywords."),
    word_pairs: bool = WordPairs, max_words: int = MaxWords,
    output: str = Output, no_origin: bool = NoOrigin, dict_format: opt.DictFormat = opt.DictFormat_,
    json_out: bool = opt.Json,
):
    """Read two Unicode CLDR annotation files aligned by code point (emoji names)."""
    from ..data.cldr import CldrFields, cldr_pairs
    from ..data.errors import XlingError

    _check_outputs(output, json_out)
    try:
        f = CldrFields(fields)
    except ValueError:
        raise XlingError(f"--fields must be one of: {', '.join(x.value for x in CldrFields)}") from None
    d, rep = cldr_pairs(src_xml, tgt_xml, fields=f, word_pairs=word_pairs, max_words=max_words)
    _finish(d, [rep], output, no_origin, dict_format, json_out, "cldr", source="cldr", fields=f.value)


@app.command("identical")
@handle_errors
def identical_cmd(
    src_vec: str = typer.Argument(..., help="Source vectors."),
    tgt_vec: str = typer.Argument(..., help="Target vectors."),
    mode: str = typer.Option("identical", "--mode", help="identical: every shared string; numerals: numbers only."),
    min_length: int = typer.Option(1, "--min-length", min=1, help="Skip shorter strings."),
    max_vocab: int | None = opt.MaxVocab,
    output: str = Output, no_origin: bool = NoOrigin, dict_format: opt.DictFormat = opt.DictFormat_,
    json_out: bool = opt.Json,
):
    """Identical strings (or numerals) found in both vocabularies, as pairs (w, w)."""
    from ..data.errors import XlingError
    from ..data.identical import IdenticalMode, identical_pairs

    _check_outputs(output, json_out)
    try:
        m = IdenticalMode(mode)
    except ValueError:
        raise XlingError("--mode must be identical or numerals") from None
    s = load_vectors(src_vec, max_vocab=max_vocab, label="source")
    t = load_vectors(tgt_vec, max_vocab=max_vocab, label="target")
    d, rep = identical_pairs(s.words, t.words, mode=m, min_length=min_length)
    rep.path = f"{src_vec},{tgt_vec}"
    _finish(d, [rep], output, no_origin, dict_format, json_out, m.value, source=m.value, max_vocab=max_vocab)


# --------------------------------------------------------------------------- clean / build
def _clean_options(src_lang, tgt_lang, src_script, tgt_script, lower, multi_word, max_translations, no_numerals,
                   keep_typographic):
    from ..data.build import clean_options

    return clean_options(src_lang=src_lang, tgt_lang=tgt_lang, src_script=src_script, tgt_script=tgt_script,
                         lower=lower, single_word=not multi_word, numerals=not no_numerals,
                         max_translations=max_translations, ascii_punct=not keep_typographic)


def _report(result, opts, output: str, no_origin: bool, dict_format: opt.DictFormat, json_out: bool, max_vocab,
            title: str) -> None:
    """Write the built dictionary and print its record (JSON or a table)."""
    _write(result.dictionary, output, no_origin, dict_format)
    cov, crep = result.coverage, result.clean
    sig = signature(src_script=opts.src_script or "any", tgt_script=opts.tgt_script or "any",
                    lower=int(opts.lower), single=int(opts.single_word), max_tr=opts.max_translations,
                    max_vocab=max_vocab if cov else None)
    record = {"output": output, **result.as_dict(), "signature": sig}
    if json_out:
        emit_json(record)
        return
    steps = {"pairs in": crep.pairs_in, **crep.ordered_steps()}
    if cov:
        steps.update({"dropped: source word not in vectors": cov.src_oov_pairs,
                      "dropped: target word not in vectors": cov.tgt_oov_pairs,
                      "source-word coverage": f"{cov.coverage:.3f}"})
    steps.update({"pairs out": len(result.dictionary), "origins": result.stats["origins"]})
    _print_record(title, steps, output)
    _console(output).print(f"{len(result.dictionary):,} pairs → {escape(output)}   [dim]{escape(sig)}[/]")


@app.command("clean")
@handle_errors
def clean_cmd(
    inputs: list[str] = typer.Argument(..., help="Dictionary files (src<TAB>tgt[<TAB>origin]); several are merged."),
    src_lang: str | None = SrcLang, tgt_lang: str | None = TgtLang,
    src_script: str | None = SrcScript, tgt_script: str | None = TgtScript,
    lower: bool = Lower, multi_word: bool = MultiWord, max_translations: int | None = MaxTrans,
    no_numerals: bool = NoNumerals, keep_typographic: bool = KeepPunct,
    src_vec: str | None = SrcVec, tgt_vec: str | None = TgtVec, max_vocab: int | None = opt.MaxVocab,
    output: str = Output, no_origin: bool = NoOrigin, dict_format: opt.DictFormat = opt.DictFormat_,
    json_out: bool = opt.Json,
):
    """Clean (and merge) dictionaries script-safely; every filter counted.

    NFC keeping U+200C/U+200D, script filter per side, optional lower-casing (cased scripts only),
    single words, duplicates, at most N translations per source word.
    """
    from ..data.build import Sources, clean_and_restrict, read_sources

    _check_outputs(output, json_out)
    opts = _clean_options(src_lang, tgt_lang, src_script, tgt_script, lower, multi_word, max_translations,
                          no_numerals, keep_typographic)
    d, reps = read_sources(Sources(tsv=inputs))
    result = clean_and_restrict(d, opts, reps, src_vocab=_vocab(src_vec, max_vocab, "source"),
                                tgt_vocab=_vocab(tgt_vec, max_vocab, "target"))
    _report(result, opts, output, no_origin, dict_format, json_out, max_vocab, "clean")


@app.command("build")
@handle_errors
def build_cmd(
    dictd: list[str] | None = typer.Option(None, "--dictd", help="dictd dictionary (repeatable)."),
    gettext: list[str] | None = typer.Option(None, "--gettext", help="Target-language catalog or folder, "
                                               "optionally LABEL=PATH (repeatable; the label names the origin): "
                                               "msgid → msgstr."),
    gettext_src: list[str] | None = typer.Option(None, "--gettext-src", help="Source-language catalogs of the "
                                                 "same programs (repeatable): msgstr → msgstr instead."),
    cldr_src: str | None = typer.Option(None, "--cldr-src", help="CLDR annotations, source language."),
    cldr_tgt: str | None = typer.Option(None, "--cldr-tgt", help="CLDR annotations, target language."),
    tsv: list[str] | None = typer.Option(None, "--tsv", help="Dictionary file (repeatable)."),
    identical: bool = typer.Option(False, "--identical", help="Add identical strings of --src and --tgt vectors."),
    word_pairs: bool = WordPairs, max_words: int = MaxWords,
    src_lang: str | None = SrcLang, tgt_lang: str | None = TgtLang,
    src_script: str | None = SrcScript, tgt_script: str | None = TgtScript,
    lower: bool = Lower, multi_word: bool = MultiWord, max_translations: int | None = MaxTrans,
    no_numerals: bool = NoNumerals, keep_typographic: bool = KeepPunct,
    src_vec: str | None = SrcVec, tgt_vec: str | None = TgtVec, max_vocab: int | None = opt.MaxVocab,
    output: str = Output, no_origin: bool = NoOrigin, dict_format: opt.DictFormat = opt.DictFormat_,
    json_out: bool = opt.Json,
):
    """Build one anchor dictionary from several sources, cleaned (and restricted to vectors) in one go.

    Sources are merged in the order cldr, gettext, dictd, tsv, identical; a pair found twice
    keeps its first origin.
    """
    from ..data.build import Sources, clean_and_restrict, labelled_paths, read_sources
    from ..data.errors import XlingError

    _check_outputs(output, json_out)
    opts = _clean_options(src_lang, tgt_lang, src_script, tgt_script, lower, multi_word, max_translations,
                          no_numerals, keep_typographic)
    if (cldr_src is None) != (cldr_tgt is None):
        raise XlingError("--cldr-src and --cldr-tgt go together")
    src = tgt = None
    if identical:
        if not (src_vec and tgt_vec):
            raise XlingError("--identical needs --src and --tgt vectors")
        # the vectors are read once: for their identical strings (now) and their vocabularies (later)
        src = load_vectors(src_vec, max_vocab=max_vocab, label="source")
        tgt = load_vectors(tgt_vec, max_vocab=max_vocab, label="target")
    # cldr_tgt is given whenever cldr_src is (checked above)
    cldr = (cldr_src, cldr_tgt) if cldr_src and cldr_tgt is not None else None
    same = (src.words, tgt.words) if src is not None and tgt is not None else None
    sources = Sources(cldr=cldr, gettext=labelled_paths(gettext or []), gettext_src=gettext_src or (),
                      dictd=dictd or (), tsv=tsv or (), word_pairs=word_pairs, max_words=max_words, identical=same)
    d, reps = read_sources(sources)
    src_vocab = src.key_to_index if src is not None else _vocab(src_vec, max_vocab, "source")
    tgt_vocab = tgt.key_to_index if tgt is not None else _vocab(tgt_vec, max_vocab, "target")
    result = clean_and_restrict(d, opts, reps, src_vocab=src_vocab, tgt_vocab=tgt_vocab)
    _report(result, opts, output, no_origin, dict_format, json_out, max_vocab, "build")


# --------------------------------------------------------------------------- restrict / split / stats
@app.command("restrict")
@handle_errors
def restrict_cmd(
    path: str = typer.Argument(..., help="Dictionary file."),
    src_vec: str | None = SrcVec, tgt_vec: str | None = TgtVec, max_vocab: int | None = opt.MaxVocab,
    output: str = Output, no_origin: bool = NoOrigin, dict_format: opt.DictFormat = opt.DictFormat_,
    json_out: bool = opt.Json,
):
    """Keep the pairs whose words are in the vectors (or their top --max-vocab words); report coverage."""
    from ..data.anchors import read_anchors, restrict_to_vocab
    from ..data.dictionary import require_pairs
    from ..data.errors import XlingError

    _check_outputs(output, json_out)
    if not src_vec and not tgt_vec:
        raise XlingError("give --src and/or --tgt vectors to restrict to")
    d, _ = read_anchors(path)
    r, cov = restrict_to_vocab(d, _vocab(src_vec, max_vocab, "source"), _vocab(tgt_vec, max_vocab, "target"))
    require_pairs(r, cov, path)
    _write(r, output, no_origin, dict_format)
    record = {"input": path, "output": output, **cov.as_dict(), "signature": signature(max_vocab=max_vocab)}
    _emit(record, json_out, "restrict", output)


@app.command("split")
@handle_errors
def split_cmd(
    path: str = typer.Argument(..., help="Dictionary file."),
    train: str = typer.Option(..., "--train", help="Output: training dictionary."),
    test: str = typer.Option(..., "--test", help="Output: test dictionary."),
    by: str = typer.Option("frequency", "--by", help="frequency (rank in --src vectors; MUSE style) or random."),
    src_vec: str | None = typer.Option(None, "--src", help="Source vectors, most frequent word first "
                                                           "(frequency split)."),
    max_vocab: int | None = opt.MaxVocab,
    train_size: int = typer.Option(5000, "--train-size", min=0, help="Source words in train."),
    test_size: int = typer.Option(1500, "--test-size", min=1, help="Source words in test (the next band)."),
    test_fraction: float | None = typer.Option(None, "--test-fraction",
                                               help="Random split: this fraction of source words for test."),
    seed: int = opt.Seed, no_origin: bool = NoOrigin, dict_format: opt.DictFormat = opt.DictFormat_,
    json_out: bool = opt.Json,
):
    """Split by source word into train and test (MUSE style or seeded random).

    A source word is never in both parts and all its translations stay together. By frequency:
    train = the most frequent source words, test = the next band.
    """
    from ..data.anchors import read_anchors
    from ..data.errors import XlingError
    from ..data.split import SplitMode, split_dictionary

    try:
        mode = SplitMode(by)
    except ValueError:
        raise XlingError("--by must be frequency or random") from None
    if mode is SplitMode.frequency and not src_vec:
        raise XlingError("--by frequency needs --src vectors (their order is the frequency ranking); "
                         "or use --by random")
    if test_fraction is not None and mode is not SplitMode.random:
        raise XlingError("--test-fraction is for --by random")
    if "-" in (train, test) or train == test:
        raise XlingError("--train and --test must be two different files")
    d, _ = read_anchors(path)
    ranks = _vocab(src_vec, max_vocab, "source") if mode is SplitMode.frequency else None
    tr, te, rep = split_dictionary(d, mode=mode, train_size=train_size, test_size=test_size, ranks=ranks, seed=seed,
                                   test_fraction=test_fraction)
    _write(tr, train, no_origin, dict_format)
    _write(te, test, no_origin, dict_format)
    record = {"input": path, "train": train, "test": test, **rep.as_dict(),
              "signature": signature(split=mode.value, train=None if test_fraction else train_size,
                                     test=None if test_fraction else test_size, test_fraction=test_fraction,
                                     seed=seed if mode is SplitMode.random else None)}
    _emit(record, json_out, "split", train)


@app.command("stats")
@handle_errors
def stats_cmd(
    path: str = typer.Argument(..., help="Dictionary file ('-' for stdin)."),
    src_vec: str | None = typer.Option(None, "--src", help="Source vectors: add coverage."),
    tgt_vec: str | None = typer.Option(None, "--tgt", help="Target vectors: add coverage."),
    max_vocab: int | None = opt.MaxVocab,
    json_out: bool = opt.Json,
):
    """Pairs, unique source/target words, translations per word, script mix, origins, coverage."""
    from ..data.anchors import dictionary_stats, read_anchors

    d, rep = read_anchors(path)
    st = dictionary_stats(d, src_vocab=_vocab(src_vec, max_vocab, "source"),
                          tgt_vocab=_vocab(tgt_vec, max_vocab, "target"))
    record = {"path": path, **st, "read": rep.as_dict(), "signature": signature(max_vocab=max_vocab)}
    if json_out:
        emit_json(record, RecordKind.dict_stats)
        return
    flat = dict(st)
    tpw = flat.pop("translations_per_src_word")
    flat["translations per source word (mean/median/max)"] = f"{tpw['mean']} / {tpw['median']} / {tpw['max']}"
    flat["translations histogram"] = tpw["histogram"]
    if "coverage" in flat:
        cov = flat.pop("coverage")
        flat["coverage (source words)"] = f"{cov['src_words_kept']}/{cov['src_words_in']} = {cov['coverage']:.3f}"
        flat["pairs in both vocabularies"] = f"{cov['pairs_kept']}/{cov['pairs_in']}"
        flat["pairs with source OOV / target OOV"] = f"{cov['src_oov_pairs']} / {cov['tgt_oov_pairs']}"
    if rep.multiword:
        flat["multi-word lines skipped"] = rep.multiword
    _print_record(path, flat, "x")


from . import data_get  # noqa: E402  (xling data get: downloads)

app.add_typer(data_get.app, name="get")
