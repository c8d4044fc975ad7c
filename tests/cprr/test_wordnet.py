"""The WordNet reader: the wndb format (fixture), its errors, and Debian's real WordNet 3.0 files.

The real-data tests need Debian's ``wordnet-base`` (``make wordnet``); without it they skip with the
reason, except where ``STEERING_REQUIRE_WORDNET=1`` (CI), where a missing install fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from steering_core.relational import wordnet
from steering_core.relational.pairs import sample_pairs
from tests.cprr.wordnet_fixture import expected_pairs

REAL_DIR = wordnet.DEFAULT_DIR


@pytest.fixture(scope="module")
def real() -> wordnet.WordNet:
    missing = wordnet.missing_files(REAL_DIR)
    if missing:
        reason = f"Debian's WordNet 3.0 is not installed in {REAL_DIR} (run `make wordnet`)"
        if os.environ.get("STEERING_REQUIRE_WORDNET") == "1":
            pytest.fail(reason + " and STEERING_REQUIRE_WORDNET=1")
        pytest.skip(reason)
    return wordnet.load(REAL_DIR)


def test_fixture_relations_are_read_exactly(fixture_wordnet: Path) -> None:
    wn = wordnet.load(fixture_wordnet)
    for relation, pairs in expected_pairs().items():
        assert wordnet.relation_pairs(wn, relation) == sorted(pairs)


def test_the_environment_variable_points_the_reader(fixture_wordnet: Path) -> None:
    assert wordnet.data_dir() == fixture_wordnet  # the autouse fixture sets STEERING_WORDNET_DIR
    assert wordnet.require() == fixture_wordnet


def test_missing_files_name_make_wordnet(tmp_path: Path) -> None:
    (tmp_path / "data.noun").write_text("", encoding="utf-8")
    with pytest.raises(wordnet.WordNetMissingError, match=r"make wordnet") as info:
        wordnet.load(tmp_path)
    assert info.value.missing == ["data.adj", "index.noun", "index.adj"]
    assert isinstance(info.value, FileNotFoundError)


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("00000100 05 n", "fewer than 6 fields"),
        ("00000100 05 n zz dog 0 000 | g", "word count 'zz'"),
        ("00000100 05 n 09 dog 0 000 | g", "word count 9 does not fit"),
        ("00000100 05 n 01 dog 0 005 @ 00000200 n 0000 | g", "pointer count 5 does not fit"),
        ("00000100 05 n 01 dog 0 001 @ 00000200 n 00 | g", "4 hex digits"),
        ("0000x100 05 n 01 dog 0 000 | g", "synset offset"),
    ],
)
def test_malformed_data_lines_are_refused(line: str, match: str) -> None:
    with pytest.raises(wordnet.WordNetFormatError, match=match):
        wordnet.parse_data_line(Path("data.noun"), 7, line)


def test_malformed_index_lines_are_refused() -> None:
    good = wordnet.parse_index_line(Path("index.noun"), 1, "dog n 2 1 @ 2 5 00000100 00000200")
    assert good.offsets == (100, 200) and good.tagsense_count == 5
    with pytest.raises(wordnet.WordNetFormatError, match=r"index\.noun:3: 9 fields, the counts say 8"):
        wordnet.parse_index_line(Path("index.noun"), 3, "dog n 1 1 @ 2 5 00000100 00000200")


def test_adjective_markers_are_stripped() -> None:
    synset = wordnet.parse_data_line(Path("data.adj"), 1, "00000100 00 a 01 galore(ip) 0 000 | g")
    assert synset.words == ("galore",)


def test_unknown_relation_is_refused(fixture_wordnet: Path) -> None:
    with pytest.raises(ValueError, match="relation must be one of"):
        wordnet.relation_pairs(wordnet.load(fixture_wordnet), "synonym")


# --------------------------------------------------------------------------- Debian's WordNet 3.0


def test_real_wordnet_relations(real: wordnet.WordNet) -> None:
    hypernyms = set(wordnet.relation_pairs(real, "hypernym"))
    antonyms = set(wordnet.relation_pairs(real, "antonym"))
    meronyms = set(wordnet.relation_pairs(real, "meronym"))
    assert len(hypernyms) > 40_000 and len(antonyms) > 1_000 and len(meronyms) > 2_000
    assert {("dog", "canid"), ("cat", "feline"), ("rose", "shrub")} <= hypernyms
    assert {("hot", "cold"), ("good", "bad"), ("big", "little")} <= antonyms  # unmarked pole first
    assert {("finger", "hand"), ("fender", "car"), ("palm", "hand")} <= meronyms
    words = {w for pairs in (hypernyms, antonyms, meronyms) for pair in pairs for w in pair}
    assert all(w.isalpha() and w.islower() and len(w) >= 3 for w in words)


def test_real_wordnet_gives_at_least_100_pairs_per_relation(real: wordnet.WordNet) -> None:
    short = lambda w: len(w) <= 7  # noqa: E731  (a stand-in for "one token"; the runner uses the model's tokenizer)
    for relation in wordnet.RELATIONS:
        sample = sample_pairs(relation, wordnet.relation_pairs(real, relation), 120, 0, short, max_per_target=3)
        assert len(sample.pairs) == 120 and sample.n_single_token == 120, relation


def test_real_wordnet_files_are_fingerprinted(real: wordnet.WordNet) -> None:
    digests = wordnet.files_sha256(real.directory)
    assert set(digests) == set(wordnet.REQUIRED_FILES) and all(len(d) == 64 for d in digests.values())
