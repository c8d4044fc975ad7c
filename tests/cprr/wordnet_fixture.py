"""A small synthetic WordNet database in the ``wndb(5WN)`` format, for tests that must not need Debian's files.

20 hypernym pairs (noun ``@``), 20 antonym pairs (adjective ``!``, with tagged-sense counts that
fix the orientation) and 20 part-meronym pairs (noun ``%p`` from the whole), plus the licence
header lines, a collocation and a proper noun that the reader must skip.
"""

from __future__ import annotations

from itertools import product
from pathlib import Path

HEADER = "  1 This software and database is being provided to you, the LICENSEE, by  \n"
N_PAIRS = 20


def fixture_words(n: int, prefix: str) -> list[str]:
    """``n`` distinct lowercase pseudo-words starting with ``prefix`` (at least 3 letters)."""
    out = []
    for a, b, c in product("bdfgklmnprst", "aeiou", "bdfgklmnprst"):
        out.append(f"{prefix}{a}{b}{c}")
        if len(out) == n:
            return out
    raise ValueError("too many words")


def expected_pairs() -> dict[str, list[tuple[str, str]]]:
    """The (source, target) pairs the fixture encodes, per relation."""
    return {
        "hypernym": list(zip(fixture_words(N_PAIRS, "hy"), fixture_words(N_PAIRS, "ge"), strict=True)),
        "antonym": list(zip(fixture_words(N_PAIRS, "po"), fixture_words(N_PAIRS, "ne"), strict=True)),
        "meronym": list(zip(fixture_words(N_PAIRS, "pa"), fixture_words(N_PAIRS, "wh"), strict=True)),
    }


def _data(offset: int, ss_type: str, words: list[str], pointers: list[tuple[str, int, str, str]]) -> str:
    word_part = " ".join(f"{w} 0" for w in words)
    ptr_part = " ".join(f"{s} {o:08d} {p} {st}" for s, o, p, st in pointers)
    return f"{offset:08d} 05 {ss_type} {len(words):02x} {word_part} {len(pointers):03d} {ptr_part} | a gloss  \n"


def _index(lemma: str, pos: str, offsets: list[int], symbols: list[str], tagsense: int) -> str:
    offs = " ".join(f"{o:08d}" for o in offsets)
    syms = "".join(f"{s} " for s in symbols)
    return f"{lemma} {pos} {len(offsets)} {len(symbols)} {syms}{len(offsets)} {tagsense} {offs}  \n"


def write_fixture_wordnet(folder: Path) -> Path:
    """Write data.noun, data.adj, index.noun and index.adj into ``folder``; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    pairs = expected_pairs()
    nouns: list[str] = [HEADER]
    noun_index: dict[str, tuple[list[int], list[str]]] = {}
    offset = 100
    for source, target in pairs["hypernym"]:
        hypo, hyper = offset, offset + 1
        nouns.append(_data(hypo, "n", [source, "Proper_Name"], [("@", hyper, "n", "0000")]))
        nouns.append(_data(hyper, "n", [target, "two_words"], [("~", hypo, "n", "0000")]))
        noun_index[source] = ([hypo], ["@"])
        noun_index[target] = ([hyper], ["~"])
        offset += 2
    for part, whole in pairs["meronym"]:
        w, p = offset, offset + 1
        nouns.append(_data(w, "n", [whole], [("%p", p, "n", "0000")]))
        nouns.append(_data(p, "n", [part], [("#p", w, "n", "0000")]))
        noun_index[whole] = ([w], ["%p"])
        noun_index[part] = ([p], ["#p"])
        offset += 2
    adjectives: list[str] = [HEADER]
    adj_index: list[str] = []
    for positive, negative in pairs["antonym"]:
        a, b = offset, offset + 1
        adjectives.append(_data(a, "a", [positive], [("!", b, "a", "0101")]))
        adjectives.append(_data(b, "a", [negative], [("!", a, "a", "0101")]))
        adj_index.append(_index(positive, "a", [a], ["!"], 5))  # more tagged senses: the unmarked pole
        adj_index.append(_index(negative, "a", [b], ["!"], 2))
        offset += 2
    (folder / "data.noun").write_text("".join(nouns), encoding="utf-8")
    (folder / "data.adj").write_text("".join(adjectives), encoding="utf-8")
    noun_lines = [HEADER] + [_index(w, "n", o, s, 1) for w, (o, s) in sorted(noun_index.items())]
    (folder / "index.noun").write_text("".join(noun_lines), encoding="utf-8")
    (folder / "index.adj").write_text("".join([HEADER, *sorted(adj_index)]), encoding="utf-8")
    return folder
