"""A small reader of the Princeton WordNet 3.0 database files (Debian's ``wordnet-base``).

Reads ``data.noun``/``data.adj`` (synsets with their words and pointers) and ``index.noun``/
``index.adj`` (each lemma's synsets, most frequent sense first, and its SemCor tagged-sense
count), in the format of ``wndb(5WN)``. Nothing is downloaded: the files come from
``$STEERING_WORDNET_DIR`` or ``/usr/share/wordnet`` (``make wordnet`` installs them); when they
are absent :class:`WordNetMissingError` says so and how to install them.

Relations extracted (:func:`relation_pairs`), each as ``(source word, target word)``:

* ``hypernym`` (nouns, pointer ``@``, instance hypernyms excluded): hyponym -> hypernym, e.g.
  ``dog -> canine``;
* ``antonym`` (adjectives, lexical pointer ``!`` between two words): oriented from the word with
  the larger SemCor tagged-sense count to the other (the *unmarked* member first, e.g.
  ``hot -> cold``; ties alphabetical), a rule fixed before any activation is read;
* ``meronym`` (nouns, part-meronym pointer ``%p`` from the whole): part -> whole, e.g.
  ``wheel -> car``.

Only plain words qualify: lowercase ``a-z`` only, at least 3 letters (no collocations, no
hyphens, no proper nouns), and each word's synset must be its *first* (most frequent) sense in the
index, so that ``bank`` stands for the sense its activation mostly carries. Pairs of identical
words are dropped. Every count read from a file is checked against the line before it is used;
a malformed line raises :class:`WordNetFormatError` naming file and line.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from steering_core.errors import SteeringError

DEFAULT_DIR = Path("/usr/share/wordnet")
ENV_DIR = "STEERING_WORDNET_DIR"
REQUIRED_FILES: tuple[str, ...] = ("data.noun", "data.adj", "index.noun", "index.adj")
RELATIONS: tuple[str, ...] = ("hypernym", "antonym", "meronym")
_WORD = re.compile(r"^[a-z]{3,}$")
_ADJ_MARKER = re.compile(r"\((a|p|ip)\)$")
MAX_LINE_CHARS = 100_000


class WordNetError(SteeringError):
    """Base class of the WordNet reader's errors."""


class WordNetMissingError(WordNetError, FileNotFoundError):
    """The WordNet 3.0 data files are not installed where they were looked for."""

    def __init__(self, directory: Path, missing: list[str]) -> None:
        self.directory = directory
        self.missing = missing
        super().__init__(
            f"WordNet 3.0 data not found in {directory} (missing {', '.join(missing)}): run `make wordnet` "
            f"(installs Debian's wordnet-base; needs root) or set {ENV_DIR} to a folder holding "
            f"{', '.join(REQUIRED_FILES)}"
        )


class WordNetFormatError(WordNetError, ValueError):
    """A line of a WordNet file does not follow ``wndb(5WN)``."""

    def __init__(self, path: Path, line_no: int, reason: str) -> None:
        super().__init__(f"{path.name}:{line_no}: {reason}")


@dataclass(frozen=True)
class Pointer:
    """One pointer of a synset: symbol (``@``, ``!``, ``%p``...), target synset offset and POS, word numbers."""

    symbol: str
    offset: int
    pos: str
    source: int  # 1-based word number in this synset, 0 for a semantic (whole-synset) pointer
    target: int  # 1-based word number in the target synset, 0 for a semantic pointer


@dataclass(frozen=True)
class Synset:
    """A synset: byte offset, synset type (n, a, s, ...), its words (as written) and pointers."""

    offset: int
    ss_type: str
    words: tuple[str, ...]
    pointers: tuple[Pointer, ...]


@dataclass(frozen=True)
class IndexEntry:
    """A lemma's index line: its synset offsets (most frequent sense first) and SemCor tagged-sense count."""

    lemma: str
    offsets: tuple[int, ...]
    tagsense_count: int


def data_dir(directory: Path | str | None = None) -> Path:
    """The WordNet folder: ``directory``, else ``$STEERING_WORDNET_DIR``, else ``/usr/share/wordnet``."""
    if directory is not None:
        return Path(directory)
    env = os.environ.get(ENV_DIR)
    return Path(env) if env else DEFAULT_DIR


def missing_files(directory: Path | str | None = None) -> list[str]:
    """The required files absent from the WordNet folder (empty when it is complete)."""
    folder = data_dir(directory)
    return [name for name in REQUIRED_FILES if not (folder / name).is_file()]


def require(directory: Path | str | None = None) -> Path:
    """The WordNet folder, after checking every required file is there.

    Raises:
        WordNetMissingError: a file is missing (the message names ``make wordnet``).
    """
    folder = data_dir(directory)
    missing = missing_files(folder)
    if missing:
        raise WordNetMissingError(folder, missing)
    return folder


def files_sha256(directory: Path | str | None = None) -> dict[str, str]:
    """sha256 of each required file (identifies the WordNet release the pairs came from)."""
    folder = require(directory)
    out: dict[str, str] = {}
    for name in REQUIRED_FILES:
        digest = hashlib.sha256()
        with (folder / name).open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        out[name] = digest.hexdigest()
    return out


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8", errors="strict") as handle:
        for line_no, line in enumerate(handle, start=1):
            if line.startswith("  "):  # the licence header
                continue
            if len(line) > MAX_LINE_CHARS:
                raise WordNetFormatError(path, line_no, f"line longer than {MAX_LINE_CHARS} characters")
            yield line_no, line.rstrip("\n")


def _int(path: Path, line_no: int, text: str, base: int, what: str) -> int:
    try:
        return int(text, base)
    except ValueError:
        raise WordNetFormatError(path, line_no, f"{what} {text!r} is not a base-{base} number") from None


def parse_data_line(path: Path, line_no: int, line: str) -> Synset:
    """One synset line of a ``data.*`` file (the gloss after ``|`` is ignored)."""
    fields = line.split(" | ", 1)[0].split()
    if len(fields) < 6:
        raise WordNetFormatError(path, line_no, "fewer than 6 fields")
    offset = _int(path, line_no, fields[0], 10, "synset offset")
    ss_type = fields[2]
    w_cnt = _int(path, line_no, fields[3], 16, "word count")
    end_words = 4 + 2 * w_cnt
    if w_cnt < 1 or len(fields) < end_words + 1:
        raise WordNetFormatError(path, line_no, f"word count {w_cnt} does not fit the line")
    words = tuple(_ADJ_MARKER.sub("", fields[4 + 2 * i]) for i in range(w_cnt))
    p_cnt = _int(path, line_no, fields[end_words], 10, "pointer count")
    end_pointers = end_words + 1 + 4 * p_cnt
    if p_cnt < 0 or len(fields) < end_pointers:
        raise WordNetFormatError(path, line_no, f"pointer count {p_cnt} does not fit the line")
    pointers = []
    for i in range(p_cnt):
        symbol, target, pos, source_target = fields[end_words + 1 + 4 * i : end_words + 5 + 4 * i]
        if len(source_target) != 4:
            raise WordNetFormatError(path, line_no, f"source/target field {source_target!r} is not 4 hex digits")
        pointers.append(
            Pointer(
                symbol,
                _int(path, line_no, target, 10, "pointer offset"),
                pos,
                _int(path, line_no, source_target[:2], 16, "source word number"),
                _int(path, line_no, source_target[2:], 16, "target word number"),
            )
        )
    return Synset(offset, ss_type, words, tuple(pointers))


def parse_index_line(path: Path, line_no: int, line: str) -> IndexEntry:
    """One lemma line of an ``index.*`` file."""
    fields = line.split()
    if len(fields) < 6:
        raise WordNetFormatError(path, line_no, "fewer than 6 fields")
    synset_cnt = _int(path, line_no, fields[2], 10, "synset count")
    p_cnt = _int(path, line_no, fields[3], 10, "pointer-symbol count")
    expected = 4 + p_cnt + 2 + synset_cnt
    if synset_cnt < 1 or p_cnt < 0 or len(fields) != expected:
        raise WordNetFormatError(path, line_no, f"{len(fields)} fields, the counts say {expected}")
    tagsense = _int(path, line_no, fields[4 + p_cnt + 1], 10, "tagged-sense count")
    offsets = tuple(_int(path, line_no, f, 10, "synset offset") for f in fields[-synset_cnt:])
    return IndexEntry(fields[0], offsets, tagsense)


@dataclass(frozen=True)
class WordNet:
    """The noun and adjective parts of WordNet: synsets by offset and index entries by lemma, per POS."""

    synsets: dict[str, dict[int, Synset]]  # "n" / "a" -> offset -> synset
    index: dict[str, dict[str, IndexEntry]]  # "n" / "a" -> lemma -> entry
    directory: Path

    def first_sense(self, pos: str, word: str) -> int | None:
        """Offset of ``word``'s most frequent synset in ``pos`` (None when it is not a lemma)."""
        entry = self.index[pos].get(word.lower())
        return entry.offsets[0] if entry else None

    def tagsense_count(self, pos: str, word: str) -> int:
        """SemCor tagged-sense count of ``word`` in ``pos`` (0 when it is not a lemma)."""
        entry = self.index[pos].get(word.lower())
        return entry.tagsense_count if entry else 0


def load(directory: Path | str | None = None) -> WordNet:
    """Read ``data.noun``, ``data.adj``, ``index.noun`` and ``index.adj`` (about 2 s).

    Raises:
        WordNetMissingError: the files are not installed (run ``make wordnet``).
        WordNetFormatError: a line is malformed.
    """
    folder = require(directory)
    synsets: dict[str, dict[int, Synset]] = {}
    index: dict[str, dict[str, IndexEntry]] = {}
    for pos, suffix in (("n", "noun"), ("a", "adj")):
        data_path = folder / f"data.{suffix}"
        synsets[pos] = {s.offset: s for s in (parse_data_line(data_path, n, line) for n, line in _lines(data_path))}
        index_path = folder / f"index.{suffix}"
        index[pos] = {e.lemma: e for e in (parse_index_line(index_path, n, line) for n, line in _lines(index_path))}
    return WordNet(synsets, index, folder)


def _plain(word: str) -> bool:
    return bool(_WORD.match(word))


def _first_sense_words(wn: WordNet, pos: str, synset: Synset) -> list[str]:
    """The synset's plain words whose most frequent sense is this synset, in synset order."""
    return [w for w in synset.words if _plain(w) and wn.first_sense(pos, w) == synset.offset]


def _semantic_pairs(wn: WordNet, symbol: str, part_to_whole: bool) -> Iterable[tuple[str, str]]:
    """(source, target) word pairs along a noun semantic pointer; ``part_to_whole`` reverses it."""
    nouns = wn.synsets["n"]
    for synset in nouns.values():
        sources = _first_sense_words(wn, "n", synset)
        if not sources:
            continue
        for pointer in synset.pointers:
            if pointer.symbol != symbol or pointer.pos != "n" or pointer.offset not in nouns:
                continue
            targets = _first_sense_words(wn, "n", nouns[pointer.offset])
            for a in sources:
                for b in targets:
                    if a != b:
                        yield (b, a) if part_to_whole else (a, b)


def _antonym_pairs(wn: WordNet) -> Iterable[tuple[str, str]]:
    adjectives = wn.synsets["a"]
    seen: set[frozenset[str]] = set()
    for synset in adjectives.values():
        for pointer in synset.pointers:
            if pointer.symbol != "!" or pointer.source == 0 or pointer.offset not in adjectives:
                continue
            other = adjectives[pointer.offset]
            if not (1 <= pointer.source <= len(synset.words) and 1 <= pointer.target <= len(other.words)):
                continue
            a, b = synset.words[pointer.source - 1].lower(), other.words[pointer.target - 1].lower()
            if a == b or not (_plain(a) and _plain(b)) or frozenset((a, b)) in seen:
                continue
            if wn.first_sense("a", a) != synset.offset or wn.first_sense("a", b) != other.offset:
                continue
            seen.add(frozenset((a, b)))
            key_a, key_b = (-wn.tagsense_count("a", a), a), (-wn.tagsense_count("a", b), b)
            yield (a, b) if key_a <= key_b else (b, a)


def relation_pairs(wn: WordNet, relation: str) -> list[tuple[str, str]]:
    """Every candidate ``(source, target)`` pair of ``relation``, deduplicated and sorted.

    Raises:
        ValueError: ``relation`` is not one of :data:`RELATIONS`.
    """
    if relation == "hypernym":
        raw: Iterable[tuple[str, str]] = _semantic_pairs(wn, "@", part_to_whole=False)
    elif relation == "meronym":
        raw = _semantic_pairs(wn, "%p", part_to_whole=True)
    elif relation == "antonym":
        raw = _antonym_pairs(wn)
    else:
        raise ValueError(f"relation must be one of {', '.join(RELATIONS)}, got {relation!r}")
    return sorted(set(raw))
