"""Extract a Bible from Debian's sword packages as plain text: one verse a line, word tokens.

    apt-get install diatheke sword-text-kjv sword-text-web
    python bench/cade_bible.py engKJV2006eb kjv.txt
    python bench/cade_bible.py engWEB2015eb web.txt

Module names are those listed by ``diatheke -b system -k modulelist``. The OSIS ("internal")
output is used rather than ``-f plain`` because the plain renderer glues some words together
("Godcreated") where two Strong's-tagged words touch. Verse references, markup (Strong's
numbers, notes) and punctuation are removed; case is kept (``xling cade train --lowercase``).
"""
from __future__ import annotations

import re
import subprocess
import sys

VERSE = re.compile(r"((?:[1-4I]+ )?[A-Z][A-Za-z ]*?) \d+:\d+: ")
# books only in Bibles "with Deuterocanon": left out so that both slices hold the same 66 books
DEUTEROCANON = {"Tobit", "Judith", "Wisdom", "Sirach", "Baruch", "Prayer of Azariah", "Susanna",
                "Bel and the Dragon", "I Maccabees", "II Maccabees", "III Maccabees", "IV Maccabees",
                "I Esdras", "II Esdras", "Prayer of Manasses", "Additional Psalm"}
NOTE = re.compile(r"<(note|title)\b.*?</\1>", re.S)
GLOSSARY = re.compile(r"<div[^>]*type=\"glossary\"")
TAG = re.compile(r"<[^>]*>")
WORD = re.compile(r"[A-Za-z]+(?:['\u2019][A-Za-z]+)*")


def verses(module: str, keys: str = "Gen 1:1-Rev 22:21") -> list[str]:
    raw = subprocess.run(["diatheke", "-b", module, "-f", "internal", "-k", keys], check=True,
                         capture_output=True, text=True).stdout
    raw = raw.replace(f"({module})", "")
    out = []
    for line in raw.splitlines():  # one verse a line; headings (psalm titles) come before the ref
        m = VERSE.search(line)
        if m is None or m.group(1) in DEUTEROCANON:
            continue
        text = GLOSSARY.split(line[m.end():])[0]  # WEB appends its glossary to Rev 22:21
        text = TAG.sub(" ", NOTE.sub(" ", text))
        toks = [t.replace("\u2019", "'") for t in WORD.findall(text)]
        if toks:
            out.append(" ".join(toks))
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    lines = verses(argv[0])
    with open(argv[1], "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(f"{argv[1]}: {len(lines)} verses, {sum(len(v.split()) for v in lines)} tokens", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
