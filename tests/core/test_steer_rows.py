"""Per-row steering (``steer_rows``) and the threading rule, on tiny random models (exact, no download).

References are independent of the code under test: a pristine deep copy that never had a hook,
or the same batch under the single-plan ``steer()`` (one row compared at a time, same shapes, so
the comparison is bit for bit).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
import torch

from steering_core.errors import ConcurrentSteeringError, InvalidParameterError, NonFiniteError
from steering_core.layers import decoder_layers, split_output
from steering_core.plan import Term, compile_plan
from steering_core.steer import hook_snapshot, steer, steer_rows

HIDDEN = 64


def _vector(seed: int, scale: float = 0.5) -> torch.Tensor:
    return torch.randn(HIDDEN, generator=torch.Generator().manual_seed(seed)) * scale


def _batch(lengths: tuple[int, ...] = (5, 7, 6), seed: int = 11) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    width = max(lengths)
    ids = torch.zeros((len(lengths), width), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, n in enumerate(lengths):
        ids[row, width - n :] = torch.randint(5, 1000, (n,), generator=gen)
        mask[row, width - n :] = 1
    return ids, mask


def _logits(model: Any, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=mask).logits


def _greedy(model: Any, ids: torch.Tensor, mask: torch.Tensor, n: int = 8, use_cache: bool = True) -> torch.Tensor:
    with torch.no_grad():
        out = model.generate(
            input_ids=ids,
            attention_mask=mask,
            max_new_tokens=n,
            min_new_tokens=n,
            do_sample=False,
            pad_token_id=0,
            use_cache=use_cache,
        )
    return out[:, ids.shape[1] :]


@contextmanager
def _terms(model: Any, terms: list[Term]) -> Iterator[None]:
    """The single-plan reference: one nested ``steer()`` per term, in order."""
    with ExitStack() as stack:
        for t in terms:
            stack.enter_context(steer(model, t.vector, t.alpha, layers=t.layers, positions=t.positions))
        yield


@contextmanager
def _record(model: Any, layer: int) -> Iterator[list[torch.Tensor]]:
    seen: list[torch.Tensor] = []
    handle = decoder_layers(model)[layer].register_forward_hook(
        lambda _m, _a, out: seen.append(split_output(out)[0].detach().clone())
    )
    try:
        yield seen
    finally:
        handle.remove()


A = Term(vector=_vector(1), alpha=3.0, layers=1)
B = Term(vector=_vector(2), alpha=-2.0, layers=(1, 2))
C = Term(vector=_vector(3), alpha=4.0, layers=2, positions="generated")
D = Term(vector=_vector(4), alpha=2.5, layers=(0, 3), positions="prompt")
PLANS: list[list[Term] | None] = [[A], None, [B, C], [D, A]]


# ------------------------------------------------------------------------ exact per-row oracle
def test_each_row_equals_the_batch_under_its_own_plan(tiny: Any, pristine_of: Callable[[Any], Any]) -> None:
    reference = pristine_of(tiny)
    ids, mask = _batch((5, 7, 6, 4))
    with steer_rows(tiny, PLANS) as handle:
        assert handle.installed and handle.layers == [0, 1, 2, 3]
        logits = _logits(tiny, ids, mask)
        tokens = _greedy(tiny, ids, mask, n=6)
    for row, plan in enumerate(PLANS):
        if plan is None:  # a row without a plan keeps its bits: the unhooked model
            assert torch.equal(logits[row], _logits(reference, ids, mask)[row])
            assert torch.equal(tokens[row], _greedy(reference, ids, mask, n=6)[row])
            continue
        with _terms(tiny, plan):
            assert torch.equal(logits[row], _logits(tiny, ids, mask)[row]), row
            assert torch.equal(tokens[row], _greedy(tiny, ids, mask, n=6)[row]), row
    assert hook_snapshot(tiny) == {}


def test_per_row_layer_output_is_raw_plus_the_rows_deltas(tiny: Any) -> None:
    ids, mask = _batch((7, 7, 7, 7))
    with _record(tiny, 1) as raw, steer_rows(tiny, PLANS), _record(tiny, 1) as steered:
        _logits(tiny, ids, mask)
    a = A.vector * torch.tensor(A.alpha)
    b = B.vector * torch.tensor(B.alpha)
    assert torch.equal(steered[0][0], raw[0][0] + a)
    assert torch.equal(steered[0][1], raw[0][1])  # no plan: bits kept
    assert torch.equal(steered[0][2], raw[0][2] + b)
    assert torch.equal(steered[0][3], raw[0][3] + a)  # D does not touch layer 1


@pytest.mark.parametrize("use_cache", [True, False])
def test_positions_and_padding_work_per_row(tiny: Any, use_cache: bool) -> None:
    ids, mask = _batch((4, 7, 5))
    v = _vector(5)
    plans = [
        [Term(vector=v, alpha=3.0, layers=1, positions="prompt")],
        [Term(vector=v, alpha=3.0, layers=1, positions="generated")],
        [Term(vector=v, alpha=3.0, layers=1, positions="all")],
    ]
    with steer_rows(tiny, plans):
        tokens = _greedy(tiny, ids, mask, n=6, use_cache=use_cache)
    for row, plan in enumerate(plans):
        with _terms(tiny, plan):
            assert torch.equal(tokens[row], _greedy(tiny, ids, mask, n=6, use_cache=use_cache)[row]), row


def test_rows_alone_equal_the_padded_batch(tiny: Any) -> None:
    ids, mask = _batch((4, 7, 6, 3))
    with steer_rows(tiny, PLANS):
        batched = _greedy(tiny, ids, mask, n=8)
    for row, plan in enumerate(PLANS):
        keep = mask[row].bool()
        alone_ids, alone_mask = ids[row, keep][None], mask[row, keep][None]
        with steer_rows(tiny, [plan]):
            alone = _greedy(tiny, alone_ids, alone_mask, n=8)[0]
        assert torch.equal(batched[row], alone), row


def test_single_plan_steer_is_every_row_with_the_same_plan(tiny: Any) -> None:
    ids, mask = _batch((5, 7, 6))
    plan = [B, C]
    with steer_rows(tiny, [plan] * 3):
        rows = _greedy(tiny, ids, mask, n=6)
        rows_logits = _logits(tiny, ids, mask)
    with _terms(tiny, plan):
        assert torch.equal(rows, _greedy(tiny, ids, mask, n=6))
        assert torch.equal(rows_logits, _logits(tiny, ids, mask))


def test_steering_changes_tokens_at_these_settings(tiny: Any, pristine_of: Callable[[Any], Any]) -> None:
    """Guard against vacuous equality: each plan above moves greedy tokens."""
    reference = pristine_of(tiny)
    ids, mask = _batch((7,))
    plain = _greedy(reference, ids, mask, n=8)
    for plan in ([A], [B, C], [D, A]):
        with steer_rows(tiny, [plan]):
            assert not torch.equal(_greedy(tiny, ids, mask, n=8), plain)


def test_compiled_plans_and_nesting_with_steer(tiny: Any) -> None:
    ids, mask = _batch((6, 6))
    compiled = compile_plan(tiny, [A])
    with steer(tiny, _vector(6), 1.0, layers=2), steer_rows(tiny, [compiled, None]):
        nested = _logits(tiny, ids, mask)
    with steer(tiny, _vector(6), 1.0, layers=2):
        with steer(tiny, A.vector, A.alpha, layers=1):
            assert torch.equal(nested[0], _logits(tiny, ids, mask)[0])
        assert torch.equal(nested[1], _logits(tiny, ids, mask)[1])


# ------------------------------------------------------------------------ nothing installed
def test_no_plan_or_zero_alpha_installs_nothing(tiny: Any, pristine_of: Callable[[Any], Any]) -> None:
    reference = pristine_of(tiny)
    ids, mask = _batch((5, 7))
    for plans in (
        [None, None],
        [[], None],
        [[Term(vector=_vector(1), alpha=0.0, layers=1)], [Term(vector=_vector(2), alpha=-0.0, layers=2)]],
    ):
        with steer_rows(tiny, plans) as handle:
            assert not handle.installed
            assert hook_snapshot(tiny) == {}
            assert torch.equal(_logits(tiny, ids, mask), _logits(reference, ids, mask))


# ------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("plans", "error", "named"),
    [
        ([[Term(vector=_vector(1), alpha=float("nan"), layers=1)]], NonFiniteError, r"plans\[0\]\[0\]\.alpha"),
        ([None, [A, Term(vector=_vector(1), alpha=1.0, layers=9)]], InvalidParameterError, r"plans\[1\]\[1\]\.layers"),
        ([[Term(vector=torch.ones(3), alpha=1.0, layers=1)]], InvalidParameterError, r"plans\[0\]\[0\]\.vector"),
        ([[Term(vector=_vector(1), alpha=1.0, layers=1, positions="middle")]], InvalidParameterError, "positions"),  # type: ignore[arg-type]
        ([[A.vector]], InvalidParameterError, r"plans\[0\]\[0\]"),
        ([], InvalidParameterError, "plans"),
    ],
)
def test_bad_plans_are_refused_before_anything_is_installed(tiny: Any, plans: Any, error: type, named: str) -> None:
    with pytest.raises(error, match=named), steer_rows(tiny, plans):
        pass
    assert hook_snapshot(tiny) == {}


def test_a_forward_with_another_batch_size_is_refused(tiny: Any, pristine_of: Callable[[Any], Any]) -> None:
    reference = pristine_of(tiny)
    ids, mask = _batch((5, 7, 6))
    with pytest.raises(InvalidParameterError, match="one plan per batch row"), steer_rows(tiny, [[A], [B]]):
        _logits(tiny, ids, mask)
    assert hook_snapshot(tiny) == {}
    assert torch.equal(_logits(tiny, ids, mask), _logits(reference, ids, mask))


def test_plan_compiled_for_another_model_is_refused(tiny: Any, pristine_of: Callable[[Any], Any]) -> None:
    other = pristine_of(tiny)
    compiled = compile_plan(other, [A])
    with pytest.raises(InvalidParameterError, match="another model"), steer_rows(tiny, [compiled]):
        pass


# ------------------------------------------------------------------------ exceptions inside
def test_exception_inside_leaves_model_exactly_as_before(tiny: Any, pristine_of: Callable[[Any], Any]) -> None:
    reference = pristine_of(tiny)
    ids, mask = _batch((5, 7, 6, 4))

    class Boom(RuntimeError):
        pass

    with pytest.raises(Boom), steer_rows(tiny, PLANS):
        _greedy(tiny, ids, mask, n=2)
        raise Boom("inside")
    assert hook_snapshot(tiny) == {}

    def explode(_m: Any, _a: Any, _o: Any) -> None:
        raise FloatingPointError("mid-forward")

    bomb = decoder_layers(tiny)[3].register_forward_hook(explode)
    try:
        with pytest.raises(FloatingPointError), steer_rows(tiny, PLANS):
            _greedy(tiny, ids, mask, n=2)
    finally:
        bomb.remove()
    assert hook_snapshot(tiny) == {}
    assert torch.equal(_greedy(tiny, ids, mask), _greedy(reference, ids, mask))


# ------------------------------------------------------------------------ threads
def test_two_steered_threads_and_one_plain_thread_are_isolated(tiny: Any, pristine_of: Callable[[Any], Any]) -> None:
    """The issue's scenario: before, both steered threads got both vectors and the plain one was steered."""
    reference = pristine_of(tiny)
    ids, mask = _batch((5, 7))
    u, w = _vector(7), _vector(8)
    n = 12
    # Single-thread references, computed before any thread starts.
    with steer(reference, u, 3.0, layers=1):
        want_u = _greedy(reference, ids, mask, n=n)
    with steer(reference, w, -3.0, layers=(1, 2)):
        want_w = _greedy(reference, ids, mask, n=n)
    want_plain = _greedy(reference, ids, mask, n=n)
    assert not torch.equal(want_u, want_plain) and not torch.equal(want_w, want_plain)

    rounds = 3
    barrier = threading.Barrier(3, timeout=60)
    got: dict[str, list[torch.Tensor]] = {"u": [], "w": [], "plain": []}
    errors: list[BaseException] = []

    def steered(name: str, vector: torch.Tensor, alpha: float, layers: Any) -> None:
        try:
            with steer(tiny, vector, alpha, layers=layers):
                for _ in range(rounds):
                    barrier.wait()
                    got[name].append(_greedy(tiny, ids, mask, n=n))
        except BaseException as error:  # surfaced below
            errors.append(error)
            barrier.abort()

    def plain() -> None:
        try:
            for _ in range(rounds):
                barrier.wait()
                got["plain"].append(_greedy(tiny, ids, mask, n=n))
        except BaseException as error:
            errors.append(error)
            barrier.abort()

    threads = [
        threading.Thread(target=steered, args=("u", u, 3.0, 1)),
        threading.Thread(target=steered, args=("w", w, -3.0, (1, 2))),
        threading.Thread(target=plain),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert all(torch.equal(x, want_u) for x in got["u"]) and len(got["u"]) == rounds
    assert all(torch.equal(x, want_w) for x in got["w"]) and len(got["w"]) == rounds
    assert all(torch.equal(x, want_plain) for x in got["plain"]) and len(got["plain"]) == rounds
    assert hook_snapshot(tiny) == {}


def test_worker_threads_do_not_inherit_steering_unless_given_the_context(
    tiny: Any, pristine_of: Callable[[Any], Any]
) -> None:
    import contextvars

    reference = pristine_of(tiny)
    ids, mask = _batch((6,))
    out: dict[str, torch.Tensor] = {}
    with steer(tiny, _vector(7), 3.0, layers=1):
        mine = _logits(tiny, ids, mask)
        t = threading.Thread(target=lambda: out.__setitem__("fresh", _logits(tiny, ids, mask)))
        t.start()
        t.join()
        ctx = contextvars.copy_context()
        t = threading.Thread(target=lambda: out.__setitem__("copied", ctx.run(_logits, tiny, ids, mask)))
        t.start()
        t.join()
    assert torch.equal(out["fresh"], _logits(reference, ids, mask))
    assert torch.equal(out["copied"], mine)


def test_folding_a_model_another_thread_steers_is_refused() -> None:
    from tests.conftest import make_tiny_model

    model = make_tiny_model("qwen2")
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        with steer(model, _vector(1), 1.0, layers=1):
            entered.set()
            release.wait(30)

    t = threading.Thread(target=hold)
    t.start()
    try:
        assert entered.wait(30)
        with pytest.raises(ConcurrentSteeringError, match="folded"), steer(model, _vector(2), 1.0, 1, mode="folded"):
            pass
    finally:
        release.set()
        t.join()
    # ...and the other way round: steering a model another thread holds folded.
    entered.clear()
    release.clear()

    def hold_folded() -> None:
        with steer(model, _vector(1), 1.0, layers=1, mode="folded"):
            entered.set()
            release.wait(30)

    t = threading.Thread(target=hold_folded)
    t.start()
    try:
        assert entered.wait(30)
        with pytest.raises(ConcurrentSteeringError, match="folded"), steer(model, _vector(2), 1.0, layers=1):
            pass
    finally:
        release.set()
        t.join()
    assert hook_snapshot(model) == {}
    with steer(model, _vector(2), 1.0, layers=1, mode="folded"):  # free again
        pass
