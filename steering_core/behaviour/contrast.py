"""Versioned contrast sets: the paraphrased pole pairs a style vector is extracted from.

A contrast set lives in ``steering_core/data/behaviour/contrast/<style>.toml`` (schema :data:`SCHEMA`)::

    schema = "steering-spec/contrast-set/1"
    style = "terse"                      # the seed style name (steering_core.styles)
    version = "terse-contrast-v1"        # changes whenever a pair changes
    description = "..."                  # optional
    [[pairs]]
    id = "system-01"                     # unique, [a-z0-9-]+
    frame = "system"                     # one of FRAMES
    positive = "..."                     # the positive pole's text
    negative = "..."                     # the negative pole's text
    messages = [{ role = "system", content = "{pole}" }, { role = "user", content = "..." }]

``messages`` (optional) is the conversation the pole is placed in: exactly one message holds the
literal ``{pole}`` exactly once, replaced by the pole text; roles are ``system`` (first message
only), ``user`` and ``assistant``, and the last message is a ``user`` turn (the model's answer
follows it). Without ``messages`` the pole is the whole single user message (the seed's form).
Positive and negative of a pair share everything but the pole text, so their activation
difference isolates the style.

Rules checked by :func:`parse_contrast_set` (each failure is a :class:`ContrastSetError` naming
the field, e.g. ``pairs[3].messages[1].role``): the schema string; ``style`` equals the style the
file was loaded for; a non-empty ``version``; no unknown keys; unique ids; ``frame`` in
:data:`FRAMES`; non-empty, different poles (at most :data:`MAX_TEXT_CHARS` characters); exactly
one pair with frame ``seed`` and, for a seed style, its poles equal to the seed's pair verbatim;
at least :data:`MIN_PAIRS` pairs besides it; at most :data:`MAX_PAIRS` pairs and
:data:`MAX_MESSAGES` messages per pair. The file's size is checked (:data:`MAX_FILE_BYTES`)
before it is read.

Extraction: :meth:`ContrastSet.templated_style` renders every pair with the model's chat
template (generation prompt appended) into a :class:`~steering_core.styles.Style` whose pair
texts are complete model inputs: pass it to :func:`steering_core.extract.extract` with
``chat=False``. (With ``chat=False`` the ``mean`` read position averages over the whole
templated text, scaffolding included; ``last`` reads the token before the answer.)
:meth:`ContrastSet.plain_style` keeps only the pairs without ``messages`` (single user
messages), usable with the default ``chat=True``.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from steering_core.errors import InvalidParameterError
from steering_core.prompts import has_chat_template
from steering_core.resources import data_path
from steering_core.styles import SEED_STYLES, ContrastPair, Style

SCHEMA = "steering-spec/contrast-set/1"
CONTRAST_DIR = data_path("behaviour", "contrast")
FRAMES: tuple[str, ...] = ("seed", "instruction", "system", "prefix", "dialogue", "demonstration")
ROLES: tuple[str, ...] = ("system", "user", "assistant")
PLACEHOLDER = "{pole}"
MIN_PAIRS = 16
"""Pairs required besides the seed's verbatim pair."""
MAX_PAIRS = 256
MAX_MESSAGES = 8
MAX_TEXT_CHARS = 4000
MAX_FILE_BYTES = 1_000_000
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_TOP_KEYS = frozenset({"schema", "style", "version", "description", "pairs"})
_PAIR_KEYS = frozenset({"id", "frame", "positive", "negative", "messages"})
_MESSAGE_KEYS = frozenset({"role", "content"})

Pole = Literal["positive", "negative"]


class ContrastSetError(InvalidParameterError):
    """A contrast-set file breaks the schema; ``parameter`` is the offending field's path."""


@dataclass(frozen=True)
class Message:
    """One chat message of a pair's conversation (``content`` may hold ``{pole}``)."""

    role: str
    content: str


@dataclass(frozen=True)
class ContextPair:
    """One contrast pair: two poles placed in the same conversation."""

    id: str
    frame: str
    positive: str
    negative: str
    messages: tuple[Message, ...] = ()

    @property
    def plain(self) -> bool:
        """True when the pole is the whole single user message (no ``messages``)."""
        return not self.messages

    def conversation(self, pole: Pole) -> list[dict[str, str]]:
        """The chat messages with ``pole``'s text in place of ``{pole}`` (a fresh list)."""
        if pole not in ("positive", "negative"):
            raise InvalidParameterError("pole", "'positive' or 'negative'", repr(pole))
        text = self.positive if pole == "positive" else self.negative
        if self.plain:
            return [{"role": "user", "content": text}]
        return [{"role": m.role, "content": m.content.replace(PLACEHOLDER, text)} for m in self.messages]


@dataclass(frozen=True)
class ContrastSet:
    """A validated contrast set (see the module docstring)."""

    style: str
    version: str
    description: str
    pairs: tuple[ContextPair, ...]
    sha256: str  # of the file's bytes ("" when parsed from a mapping)
    source: str

    @property
    def seed_pair(self) -> ContextPair:
        """The pair with frame ``seed``."""
        return next(p for p in self.pairs if p.frame == "seed")

    def select(self, include_seed: bool = True, frames: Sequence[str] | None = None) -> tuple[ContextPair, ...]:
        """Pairs in file order, optionally without the seed pair or limited to ``frames``."""
        if frames is not None:
            for f in frames:
                if f not in FRAMES:
                    raise InvalidParameterError("frames", f"a subset of {FRAMES}", repr(f))
        return tuple(
            p for p in self.pairs if (include_seed or p.frame != "seed") and (frames is None or p.frame in frames)
        )

    def templated_style(self, tokenizer: Any, include_seed: bool = True, frames: Sequence[str] | None = None) -> Style:
        """Every selected pair rendered with ``tokenizer``'s chat template (extract with ``chat=False``).

        A tokenizer without a chat template gets the messages joined as ``role: content`` lines
        followed by ``assistant:``.
        """
        chosen = self.select(include_seed, frames)
        if not chosen:
            raise InvalidParameterError("frames", "a selection with at least one pair", repr(frames))
        pairs = tuple(
            ContrastPair(
                positive=render(tokenizer, p.conversation("positive")),
                negative=render(tokenizer, p.conversation("negative")),
            )
            for p in chosen
        )
        return Style(name=self.style, pairs=pairs, description=f"{self.description} [{self.version}, templated]")

    def plain_style(self, include_seed: bool = True) -> Style:
        """The pairs without ``messages`` as plain user-message pairs (extract with ``chat=True``)."""
        pairs = tuple(
            ContrastPair(positive=p.positive, negative=p.negative) for p in self.select(include_seed) if p.plain
        )
        if not pairs:
            raise InvalidParameterError("include_seed", "a selection with at least one plain pair", include_seed)
        return Style(name=self.style, pairs=pairs, description=f"{self.description} [{self.version}, plain]")


def render(tokenizer: Any, messages: list[dict[str, str]]) -> str:
    """The model input for ``messages``: the chat template with the generation prompt appended."""
    if not has_chat_template(tokenizer):
        return "\n".join(f"{m['role']}: {m['content']}" for m in messages) + "\nassistant:"
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, enable_thinking=False)
    if not isinstance(text, str):
        raise TypeError(f"chat template returned {type(text).__name__}, expected str")
    return text


def contrast_path(style: str, directory: Path | None = None) -> Path:
    """``<directory>/<style>.toml`` (default directory: ``steering_core/data/behaviour/contrast``)."""
    if not isinstance(style, str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]*", style):
        raise InvalidParameterError("style", "a style name of lower-case letters, digits and '-'", repr(style))
    return (directory or CONTRAST_DIR) / f"{style}.toml"


def contrast_styles(directory: Path | None = None) -> list[str]:
    """Styles with a contrast-set file, sorted."""
    folder = directory or CONTRAST_DIR
    return sorted(p.stem for p in folder.glob("*.toml")) if folder.is_dir() else []


def load_contrast_set(style: str, directory: Path | None = None) -> ContrastSet:
    """Load and validate the contrast set of ``style``.

    Raises:
        ContrastSetError: missing file (``parameter="style"``), file too large, not TOML, or any
            schema rule broken (``parameter`` names the field).
    """
    path = contrast_path(style, directory)
    if not path.is_file():
        raise ContrastSetError("style", f"a style with a contrast set in {path.parent}", repr(style))
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ContrastSetError(str(path), f"a file of at most {MAX_FILE_BYTES} bytes", f"{size} bytes")
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ContrastSetError(str(path), "a UTF-8 TOML file", str(exc)) from None
    parsed = parse_contrast_set(data, expected_style=style, source=str(path))
    return ContrastSet(
        parsed.style, parsed.version, parsed.description, parsed.pairs, hashlib.sha256(raw).hexdigest(), str(path)
    )


def _text(value: object, field: str, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise ContrastSetError(field, "a non-empty string", repr(value)[:80])
    if len(value) > MAX_TEXT_CHARS:
        raise ContrastSetError(field, f"at most {MAX_TEXT_CHARS} characters", f"{len(value)} characters")
    return value


def _keys(table: Mapping[str, Any], allowed: frozenset[str], field: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        where = f"{field}.{unknown[0]}" if field else unknown[0]
        raise ContrastSetError(where, f"one of {sorted(allowed)}", "an unknown key")


def _messages(value: object, field: str) -> tuple[Message, ...]:
    if not isinstance(value, list) or not value:
        raise ContrastSetError(field, "a non-empty array of {role, content} tables", repr(value)[:80])
    if len(value) > MAX_MESSAGES:
        raise ContrastSetError(field, f"at most {MAX_MESSAGES} messages", f"{len(value)}")
    out: list[Message] = []
    for j, item in enumerate(value):
        where = f"{field}[{j}]"
        if not isinstance(item, dict):
            raise ContrastSetError(where, "a {role, content} table", repr(item)[:80])
        _keys(item, _MESSAGE_KEYS, where)
        role = item.get("role")
        if role not in ROLES:
            raise ContrastSetError(f"{where}.role", f"one of {ROLES}", repr(role))
        if role == "system" and j != 0:
            raise ContrastSetError(f"{where}.role", "'system' only as the first message", "system later")
        out.append(Message(role, _text(item.get("content"), f"{where}.content")))
    holders = [j for j, m in enumerate(out) if PLACEHOLDER in m.content]
    if len(holders) != 1 or out[holders[0]].content.count(PLACEHOLDER) != 1:
        accepted = f"exactly one {PLACEHOLDER} in exactly one message"
        raise ContrastSetError(field, accepted, f"{len(holders)} messages with it")
    if out[-1].role != "user":
        raise ContrastSetError(f"{field}[{len(out) - 1}].role", "'user' for the last message", repr(out[-1].role))
    return tuple(out)


def _pair(value: object, field: str) -> ContextPair:
    if not isinstance(value, dict):
        raise ContrastSetError(field, "a table", repr(value)[:80])
    _keys(value, _PAIR_KEYS, field)
    pid = value.get("id")
    if not isinstance(pid, str) or not _ID_RE.match(pid):
        raise ContrastSetError(f"{field}.id", "an id of [a-z0-9-], at most 64 characters", repr(pid))
    frame = value.get("frame")
    if frame not in FRAMES:
        raise ContrastSetError(f"{field}.frame", f"one of {FRAMES}", repr(frame))
    positive = _text(value.get("positive"), f"{field}.positive")
    negative = _text(value.get("negative"), f"{field}.negative")
    if positive.strip() == negative.strip():
        raise ContrastSetError(f"{field}.negative", "a text different from the positive pole", "the same text")
    messages = _messages(value["messages"], f"{field}.messages") if "messages" in value else ()
    return ContextPair(pid, str(frame), positive, negative, messages)


def parse_contrast_set(
    data: Mapping[str, Any], expected_style: str | None = None, source: str = "<mapping>"
) -> ContrastSet:
    """Validate a parsed contrast-set document (see the module docstring for the rules)."""
    if not isinstance(data, Mapping):
        raise ContrastSetError("document", "a table", type(data).__name__)
    _keys(data, _TOP_KEYS, "")
    if data.get("schema") != SCHEMA:
        raise ContrastSetError("schema", repr(SCHEMA), repr(data.get("schema"))[:80])
    style = _text(data.get("style"), "style")
    if expected_style is not None and style != expected_style:
        raise ContrastSetError("style", repr(expected_style), repr(style))
    version = _text(data.get("version"), "version")
    description = _text(data.get("description", ""), "description", allow_empty=True)
    raw_pairs = data.get("pairs")
    if not isinstance(raw_pairs, list):
        raise ContrastSetError("pairs", "an array of [[pairs]] tables", repr(raw_pairs)[:80])
    if len(raw_pairs) > MAX_PAIRS:
        raise ContrastSetError("pairs", f"at most {MAX_PAIRS} pairs", f"{len(raw_pairs)}")
    pairs = tuple(_pair(p, f"pairs[{i}]") for i, p in enumerate(raw_pairs))
    seen: set[str] = set()
    for i, p in enumerate(pairs):
        if p.id in seen:
            raise ContrastSetError(f"pairs[{i}].id", "a unique id", repr(p.id))
        seen.add(p.id)
    seeds = [i for i, p in enumerate(pairs) if p.frame == "seed"]
    if len(seeds) != 1:
        raise ContrastSetError("pairs", "exactly one pair with frame 'seed'", f"{len(seeds)}")
    seed = pairs[seeds[0]]
    if style in SEED_STYLES:
        verbatim = SEED_STYLES[style].pairs[0]
        if seed.plain is False or (seed.positive, seed.negative) != (verbatim.positive, verbatim.negative):
            raise ContrastSetError(f"pairs[{seeds[0]}]", "the seed's verbatim pair as a plain pair", "a different pair")
    if len(pairs) - 1 < MIN_PAIRS:
        raise ContrastSetError("pairs", f"at least {MIN_PAIRS} pairs besides the seed pair", f"{len(pairs) - 1}")
    return ContrastSet(style, version, description, pairs, "", source)


@dataclass(frozen=True)
class PairConsistency:
    """How well the pairs of a contrast set agree on one direction, at one layer.

    With ``d_i`` the activation difference (positive - negative) of pair ``i``:
    ``mean_pairwise_cosine`` is the mean cosine over all pairs ``i < j``; ``loo_agreement`` the
    share of pairs whose ``d_i`` has a positive cosine with the mean of the *other* pairs
    (leave-one-out); ``loo_cosines`` those cosines, in pair order.
    """

    mean_pairwise_cosine: float
    loo_agreement: float
    loo_cosines: tuple[float, ...]


def pair_consistency(diffs: Any) -> PairConsistency:
    """:class:`PairConsistency` of ``diffs``, a ``(n_pairs, hidden)`` tensor or array (n_pairs >= 2)."""
    d = torch.as_tensor(diffs, dtype=torch.float64)
    if d.ndim != 2 or d.shape[0] < 2:
        raise InvalidParameterError("diffs", "a (n_pairs >= 2, hidden) matrix", f"shape {tuple(d.shape)}")
    if not torch.isfinite(d).all():
        raise InvalidParameterError("diffs", "finite numbers", "NaN or inf")
    unit = d / d.norm(dim=1, keepdim=True).clamp_min(1e-12)
    gram = unit @ unit.T
    n = d.shape[0]
    pairwise = float((gram.sum() - gram.diagonal().sum()) / (n * (n - 1)))
    total = d.sum(dim=0)
    loo: list[float] = []
    for i in range(n):
        rest = (total - d[i]) / (n - 1)
        denom = float(d[i].norm() * rest.norm())
        loo.append(float(d[i] @ rest) / denom if denom > 0 else 0.0)
    return PairConsistency(pairwise, sum(c > 0 for c in loo) / n, tuple(loo))
