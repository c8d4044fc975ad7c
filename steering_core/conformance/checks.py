"""The conformance checks: one function per property of ``steering_core/data/conformance.toml``.

Each check gets a :class:`Context` (backend, oracle, fixture) and returns an :class:`Outcome`:
``pass``, ``fail``, ``unsupported`` (the backend lacks a capability the property needs; decided
by the runner before the check runs) or ``error`` (the check raised). A check that cannot tell a
broken backend from a correct one on this fixture (the steered reference equals the plain one)
fails with "vacuous" rather than passing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from steering_core.conformance.backend import Backend
from steering_core.conformance.oracle import Oracle, Trace
from steering_core.conformance.plan import Request, Term

LONG_PROMPT_TOKENS = 200


@dataclass(frozen=True, kw_only=True)
class Fixture:
    """What the checks steer with: prompts of different lengths, a layer, three alphas.

    The vectors named ``v`` and ``w`` hold one direction each at every layer (so layer
    numbering can be probed at L-1 and L+1); ``neg_v`` is exactly ``-v``. ``long_prompt`` is a
    prompt of :data:`LONG_PROMPT_TOKENS` tokens or more (where the model's context allows): prefix
    caches work on whole blocks (vLLM on CPU: 128 tokens), so a short prompt could never hit one.
    """

    prompts: tuple[str, ...]
    layer: int
    num_layers: int
    alphas: tuple[float, float, float]
    max_new_tokens: int
    long_prompt: str = ""
    v: str = "v"
    w: str = "w"
    neg_v: str = "neg_v"


@dataclass
class Outcome:
    """The result of one property on one backend."""

    status: str
    figure: str
    details: list[str] = field(default_factory=list)


@dataclass
class Context:
    """Everything a check needs."""

    backend: Backend
    oracle: Oracle
    fixture: Fixture
    tie_margin: float
    max_ties: int

    def term(self, alpha: float, vector: str | None = None, positions: str = "all", layer: int | None = None) -> Term:
        """A term on the fixture's layer (or ``layer``) with vector ``v`` unless named."""
        chosen = self.fixture.layer if layer is None else layer
        return Term(vector=vector or self.fixture.v, alpha=alpha, layers=(chosen,), positions=positions)

    def ref(self, request: Request, skip_first_generated: bool = False) -> Trace:
        """The oracle's run of ``request``."""
        return self.oracle.trace(request, self.fixture.max_new_tokens, skip_first_generated)

    def solo(self, request: Request, use_cache: bool = True) -> list[int]:
        """The backend's answer to ``request`` sent alone."""
        return self.backend.generate([request], self.fixture.max_new_tokens, use_cache=use_cache)[0]


class Tally:
    """Token agreement over many comparisons, with the near-tie exemption."""

    def __init__(self, ctx: Context, label: str = "agree") -> None:
        self.ctx = ctx
        self.label = label
        self.total = 0
        self.equal = 0
        self.ties = 0
        self.failures: list[str] = []

    def compare(self, got: Sequence[int], want: Sequence[int], margins: Sequence[float], what: str) -> None:
        """Count ``got`` against ``want``; a divergence is a tie when ``margins`` there is small."""
        self.total += 1
        got, want = list(got), list(want)
        if got == want:
            self.equal += 1
            return
        step = next((i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b), min(len(got), len(want)))
        margin = margins[step] if step < len(margins) else float("inf")
        if margin <= self.ctx.tie_margin:
            self.ties += 1
            self.failures.append(f"{what}: near-tie at step {step} (margin {margin:.2e})")
            return
        self.failures.append(
            f"{what}: diverges at step {step} (reference margin {margin:.3g}): {got[:12]} vs {want[:12]}"
        )

    @property
    def ok(self) -> bool:
        """No real divergence and at most ``max_ties`` near-ties."""
        return self.equal + self.ties == self.total and self.ties <= self.ctx.max_ties

    def figure(self) -> str:
        tie = f", {self.ties} near-tie" if self.ties else ""
        return f"{self.label} {self.equal}/{self.total}{tie}"


def _outcome(tally: Tally, extra_ok: bool = True, extra: str = "", notes: Sequence[str] = ()) -> Outcome:
    ok = tally.ok and extra_ok
    figure = tally.figure() + (f"; {extra}" if extra else "")
    return Outcome("pass" if ok else "fail", figure, [*tally.failures, *notes])


def _differs(ctx: Context, a: tuple[Term, ...], b: tuple[Term, ...]) -> int:
    """On how many fixture prompts the oracle tells the two plans apart."""
    return sum(
        ctx.ref(Request(prompt=p, terms=a)).tokens != ctx.ref(Request(prompt=p, terms=b)).tokens
        for p in ctx.fixture.prompts
    )


def check_zero_alpha(ctx: Context) -> Outcome:
    tally = Tally(ctx, "equal")
    for prompt in ctx.fixture.prompts:
        plain = ctx.ref(Request(prompt=prompt))
        got = ctx.solo(Request(prompt=prompt, terms=(ctx.term(0.0),)))
        tally.compare(got, plain.tokens, [0.0] * len(plain.margins), f"alpha=0 on {prompt!r}")
    return _outcome(tally)


def check_dose(ctx: Context) -> Outcome:
    tally = Tally(ctx)
    moved = 0
    for alpha in ctx.fixture.alphas:
        for prompt in ctx.fixture.prompts:
            request = Request(prompt=prompt, terms=(ctx.term(alpha),))
            ref = ctx.ref(request)
            moved += ref.tokens != ctx.ref(Request(prompt=prompt)).tokens
            tally.compare(ctx.solo(request), ref.tokens, ref.margins, f"alpha={alpha:g} on {prompt!r}")
    return _outcome(tally, moved > 0, f"steering moved {moved}/{tally.total}", [] if moved else ["vacuous"])


def check_sign(ctx: Context) -> Outcome:
    alpha = ctx.fixture.alphas[1]
    tally = Tally(ctx, "equal")
    moved = 0
    for prompt in ctx.fixture.prompts:
        neg_vector = Request(prompt=prompt, terms=(ctx.term(alpha, ctx.fixture.neg_v),))
        neg_alpha = Request(prompt=prompt, terms=(ctx.term(-alpha),))
        moved += ctx.ref(neg_alpha).tokens != ctx.ref(Request(prompt=prompt, terms=(ctx.term(alpha),))).tokens
        tally.compare(ctx.solo(neg_vector), ctx.solo(neg_alpha), [0.0] * ctx.fixture.max_new_tokens, repr(prompt))
    return _outcome(tally, moved > 0, f"sign visible on {moved}", [] if moved else ["vacuous: -alpha == +alpha"])


def check_layer_numbering(ctx: Context) -> Outcome:
    """Agreement at L for the two larger alphas; each neighbour told apart at some alpha."""
    fx = ctx.fixture
    tally = Tally(ctx)
    neighbours = [n for n in (fx.layer - 1, fx.layer + 1) if 0 <= n < fx.num_layers]
    told_apart = dict.fromkeys(neighbours, 0)
    for alpha in fx.alphas[1:]:
        for prompt in fx.prompts:
            request = Request(prompt=prompt, terms=(ctx.term(alpha),))
            ref = ctx.ref(request)
            got = ctx.solo(request)
            tally.compare(got, ref.tokens, ref.margins, f"layer {fx.layer}, alpha={alpha:g} on {prompt!r}")
            for n in neighbours:
                told_apart[n] += list(ctx.ref(Request(prompt=prompt, terms=(ctx.term(alpha, layer=n),))).tokens) != got
    apart = all(count > 0 for count in told_apart.values())
    figure = "differs from " + ", ".join(f"L{n} on {c}" for n, c in told_apart.items())
    return _outcome(tally, apart, figure, [] if apart else ["vacuous: a neighbouring layer gives the same tokens"])


def check_additivity(ctx: Context) -> Outcome:
    fx = ctx.fixture
    a, b = fx.alphas[1], fx.alphas[1]
    tally = Tally(ctx)
    for prompt in fx.prompts:
        request = Request(prompt=prompt, terms=(ctx.term(a), ctx.term(b, fx.w)))
        ref = ctx.ref(request)
        tally.compare(ctx.solo(request), ref.tokens, ref.margins, repr(prompt))
    seen = _differs(ctx, (ctx.term(a),), (ctx.term(a), ctx.term(b, fx.w)))
    return _outcome(tally, seen > 0, f"second term visible on {seen}", [] if seen else ["vacuous"])


def _positions(ctx: Context, positions: str) -> Outcome:
    """Agreement at the two larger alphas; non-vacuous when some alpha tells the mode apart
    (from plain, from ``all``, and for ``generated`` from starting one token late)."""
    fx = ctx.fixture
    tally = Tally(ctx)
    moved = everywhere = late = 0
    for alpha in fx.alphas[1:]:
        steered = (ctx.term(alpha, positions=positions),)
        for prompt in fx.prompts:
            request = Request(prompt=prompt, terms=steered)
            ref = ctx.ref(request)
            tally.compare(ctx.solo(request), ref.tokens, ref.margins, f"alpha={alpha:g} {prompt!r}")
        moved += _differs(ctx, steered, ())
        if positions != "all":
            everywhere += _differs(ctx, steered, (ctx.term(alpha),))
        if positions == "generated":
            late += sum(
                ctx.ref(Request(prompt=p, terms=steered)).tokens
                != ctx.ref(Request(prompt=p, terms=steered), skip_first_generated=True).tokens
                for p in fx.prompts
            )
    extra = f"moved {moved}"
    ok = moved > 0
    if positions != "all":
        extra += f", differs from 'all' on {everywhere}"
        ok = ok and everywhere > 0
    if positions == "generated":
        extra += f", first generated token visible on {late}"
        ok = ok and late > 0
    return _outcome(tally, ok, extra, [] if ok else ["vacuous: the fixture cannot tell this mode from another"])


def check_positions_all(ctx: Context) -> Outcome:
    return _positions(ctx, "all")


def check_positions_prompt(ctx: Context) -> Outcome:
    return _positions(ctx, "prompt")


def check_positions_generated(ctx: Context) -> Outcome:
    return _positions(ctx, "generated")


def check_cache(ctx: Context) -> Outcome:
    fx = ctx.fixture
    positions = "generated" if "positions" in ctx.backend.capabilities else "all"
    tally = Tally(ctx)
    for prompt in fx.prompts:
        request = Request(prompt=prompt, terms=(ctx.term(fx.alphas[1], positions=positions),))
        ref = ctx.ref(request)
        tally.compare(ctx.solo(request, use_cache=False), ctx.solo(request), ref.margins, f"{positions} {prompt!r}")
    return _outcome(tally, extra=f"positions={positions}")


def check_padding(ctx: Context) -> Outcome:
    fx = ctx.fixture
    tally = Tally(ctx)
    modes = ["all", "generated"] if "positions" in ctx.backend.capabilities else ["all"]
    for positions in modes:
        requests = [Request(prompt=p, terms=(ctx.term(fx.alphas[1], positions=positions),)) for p in fx.prompts]
        batched = ctx.backend.generate(requests, fx.max_new_tokens)
        for request, got in zip(requests, batched, strict=True):
            tally.compare(got, ctx.solo(request), ctx.ref(request).margins, f"{positions} {request.prompt!r}")
    lengths = sorted({len(ctx.oracle.tokenizer(p)["input_ids"]) for p in fx.prompts})
    return _outcome(tally, len(lengths) > 1, f"prompt lengths {lengths[0]}..{lengths[-1]} tokens")


def check_batch_isolation(ctx: Context) -> Outcome:
    fx = ctx.fixture
    p = fx.prompts
    requests = [
        Request(prompt=p[0], terms=(ctx.term(fx.alphas[2]),)),
        Request(prompt=p[1 % len(p)]),
        Request(prompt=p[2 % len(p)], terms=(ctx.term(fx.alphas[1], fx.w),)),
        Request(prompt=p[0]),
    ]
    got = ctx.backend.generate(requests, fx.max_new_tokens)
    plain = Tally(ctx, "plain rows equal")
    steered = Tally(ctx, "steered rows agree")
    for request, tokens in zip(requests, got, strict=True):
        ref = ctx.ref(request)
        (plain if request.plain else steered).compare(tokens, ref.tokens, ref.margins, repr(request.prompt))
    ok = plain.ok and steered.ok
    return Outcome("pass" if ok else "fail", f"{plain.figure()}; {steered.figure()}", plain.failures + steered.failures)


def check_request_isolation(ctx: Context, threads: int = 6) -> Outcome:
    fx = ctx.fixture
    plans: list[tuple[Term, ...]] = [
        (ctx.term(fx.alphas[2]),),
        (),
        (ctx.term(fx.alphas[1], fx.w),),
        (ctx.term(-fx.alphas[1]),),
        (),
        (ctx.term(fx.alphas[2], fx.w),),
    ]
    requests = [Request(prompt=fx.prompts[i % len(fx.prompts)], terms=plans[i % len(plans)]) for i in range(threads)]
    for request in requests:
        ctx.ref(request)  # the references first, outside the concurrent section
    results: list[list[int] | BaseException | None] = [None] * threads
    barrier = threading.Barrier(threads)

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=60)
            results[index] = ctx.solo(requests[index])
        except BaseException as error:  # reported below, per request
            results[index] = error

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=600)
    tally = Tally(ctx)
    for request, result in zip(requests, results, strict=True):
        if not isinstance(result, list):
            tally.total += 1
            tally.failures.append(f"{request.prompt!r}: {type(result).__name__}: {result}")
            continue
        ref = ctx.ref(request)
        tally.compare(result, ref.tokens, ref.margins, f"{'plain' if request.plain else 'steered'} {request.prompt!r}")
    return _outcome(tally, extra=f"{threads} concurrent requests")


def check_prefix_cache(ctx: Context) -> Outcome:
    fx = ctx.fixture
    prompt = fx.long_prompt or fx.prompts[0]
    steered = Request(prompt=prompt, terms=(ctx.term(fx.alphas[2]),))
    plain = Request(prompt=prompt)
    tally = Tally(ctx)
    for label, request in (("plain", plain), ("steered", steered), ("plain again", plain), ("steered again", steered)):
        ref = ctx.ref(request)
        tally.compare(ctx.solo(request), ref.tokens, ref.margins, label)
    moved = ctx.ref(steered).tokens != ctx.ref(plain).tokens
    n_tokens = len(ctx.oracle.tokenizer(prompt)["input_ids"])
    extra = f"plain->steered->plain->steered, {n_tokens}-token prompt"
    return _outcome(tally, moved, extra, [] if moved else ["vacuous"])


def check_reversibility(ctx: Context) -> Outcome:
    fx = ctx.fixture
    before = ctx.backend.state_digest()
    for prompt in fx.prompts:
        ctx.solo(Request(prompt=prompt, terms=(ctx.term(fx.alphas[2]), ctx.term(fx.alphas[1], fx.w))))
    raised = ""
    bad = Request(prompt=fx.prompts[0], terms=(ctx.term(fx.alphas[1]), ctx.term(fx.alphas[1], layer=fx.num_layers)))
    try:
        ctx.solo(bad)
        raised = "an out-of-range layer was accepted"
    except Exception as error:  # any typed refusal will do; what matters is what it leaves behind
        raised = f"refused with {type(error).__name__}"
    after = ctx.backend.state_digest()
    tally = Tally(ctx, "plain equal")
    for prompt in reversed(fx.prompts):
        plain = ctx.ref(Request(prompt=prompt))
        tally.compare(ctx.solo(Request(prompt=prompt)), plain.tokens, [0.0] * len(plain.margins), repr(prompt))
    same_state = before == after
    notes = [] if same_state else [f"state digest changed: {before} -> {after}"]
    if raised.startswith("an out-of-range"):
        notes.append(raised)
    state = (
        "state unchanged"
        if before is not None and same_state
        else ("no state exposed" if before is None else "STATE CHANGED")
    )
    return _outcome(tally, same_state and raised.startswith("refused"), f"{state}; bad request {raised}", notes)


CHECKS: dict[str, Callable[[Context], Outcome]] = {
    "CF-zero-alpha": check_zero_alpha,
    "CF-dose": check_dose,
    "CF-sign": check_sign,
    "CF-layer-numbering": check_layer_numbering,
    "CF-additivity": check_additivity,
    "CF-positions-all": check_positions_all,
    "CF-positions-prompt": check_positions_prompt,
    "CF-positions-generated": check_positions_generated,
    "CF-cache": check_cache,
    "CF-padding": check_padding,
    "CF-batch-isolation": check_batch_isolation,
    "CF-request-isolation": check_request_isolation,
    "CF-prefix-cache": check_prefix_cache,
    "CF-reversibility": check_reversibility,
}
