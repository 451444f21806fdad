"""Extract an English documentation corpus for the CADE benchmark: one sentence a line, word tokens.

A second corpus beside the Bible, of another kind (technical prose): the English HTML of
Debian's ``debian-handbook`` and ``libreoffice-help-en-us`` packages, read in place.

    apt-get install debian-handbook libreoffice-help-en-us
    python bench/cade_docs.py docs.txt        # ~41k sentences, ~600k tokens
    python bench/bench_cade.py --corpus docs.txt

Paragraphs come from ``xling.data.corpora.html_paragraphs`` (prose blocks only), are split into sentences at
. ! ? and reduced to word tokens; sentences of fewer than 3 words and repeated sentences
(LibreOffice help repeats boilerplate) are dropped. Case is kept.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

from xling.data.corpora import html_paragraphs

SOURCES = [Path("/usr/share/doc/debian-handbook/html/en-US"), Path("/usr/share/libreoffice/help/en-US/text")]
WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def sentences(sources=SOURCES) -> list[str]:
    seen: set[str] = set()
    out = []
    for root in sources:
        if not root.is_dir():
            raise SystemExit(f"{root}: missing (apt-get install debian-handbook libreoffice-help-en-us)")
        for page in sorted(root.rglob("*.html")):
            for para in html_paragraphs(page.read_text(encoding="utf-8")):
                for sent in SENTENCE_END.split(para):
                    toks = WORD.findall(sent)
                    line = " ".join(toks)
                    if len(toks) >= 3 and line not in seen:
                        seen.add(line)
                        out.append(line)
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    lines = sentences()
    Path(argv[0]).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{argv[0]}: {len(lines)} sentences, {sum(len(s.split()) for s in lines)} tokens", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
