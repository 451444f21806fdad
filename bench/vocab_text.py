"""Extract French text from Debian's documentation packages for the vocab benchmark.

Sources (installed Debian packages, read in place): ``debian-handbook`` (fr-FR HTML) and
``libreoffice-help-fr`` (HTML). Paragraph-level text; files are split into a training part
(candidate words, cw2v corpus) and a held-out part (evaluation) by a hash of the file name, so
no held-out sentence was seen while choosing or training tokens.

    python bench/vocab_text.py OUT_DIR      # writes train.txt and heldout.txt
"""
from __future__ import annotations

import hashlib
import html
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

SOURCES = [Path("/usr/share/doc/debian-handbook/html/fr-FR"), Path("/usr/share/libreoffice/help/fr/text")]
BLOCKS = {"p", "li", "td", "th", "h1", "h2", "h3", "h4", "dd", "dt", "title", "div"}
SKIP = {"script", "style", "pre", "code", "kbd", "tt"}


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.buf: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIP:
            self.skip += 1
        if tag in BLOCKS:
            self.flush()

    def handle_endtag(self, tag):
        if tag in SKIP and self.skip:
            self.skip -= 1
        if tag in BLOCKS:
            self.flush()

    def handle_data(self, data):
        if not self.skip:
            self.buf.append(data)

    def flush(self):
        text = re.sub(r"\s+", " ", html.unescape("".join(self.buf))).strip()
        self.buf = []
        # keep prose: several words, mostly letters
        if len(text.split()) >= 6 and sum(c.isalpha() for c in text) > 0.6 * len(text):
            self.parts.append(text)


def paragraphs(path: Path) -> list[str]:
    p = _Text()
    p.feed(path.read_text(encoding="utf-8", errors="strict"))
    p.flush()
    return p.parts


def build(out: Path, heldout_share: int = 10) -> tuple[int, int]:
    """Write ``train.txt`` and ``heldout.txt`` (1 in ``heldout_share`` files held out)."""
    out.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    train, held = [], []
    files = sorted(f for src in SOURCES if src.is_dir() for f in src.rglob("*.html"))
    for f in files:
        h = int(hashlib.sha1(str(f).encode()).hexdigest(), 16) % heldout_share
        for para in paragraphs(f):
            if para in seen:  # LibreOffice help repeats boilerplate paragraphs
                continue
            seen.add(para)
            (held if h == 0 else train).append(para)
    (out / "train.txt").write_text("\n".join(train) + "\n", encoding="utf-8")
    (out / "heldout.txt").write_text("\n".join(held) + "\n", encoding="utf-8")
    return len(train), len(held)


if __name__ == "__main__":
    n_train, n_held = build(Path(sys.argv[1]))
    print(f"train {n_train} paragraphs, held-out {n_held}")
