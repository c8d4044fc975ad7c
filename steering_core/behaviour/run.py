"""``steer behaviour run``: every behavioural check on one model, as one JSON + markdown report.

For each style, at its calibrated (layer, alpha) (``spec/behaviour/calibration.json``), on the
evaluation questions (the first 8 of ``neutral-questions-v1``; greedy; the same model unhooked
is the baseline):

1. the style contract (:mod:`contracts.style`), and the same contract on two negative controls:
   alpha = 0 (no hook at all: the answers are the baseline's) and a random direction of the same
   norm at the same layer and alpha (seed :data:`RANDOM_SEED`). A contract is *specific* when it
   passes and neither control does;
2. (full run) prompt-level control versus injection (:mod:`steering_core.behaviour.parity`),
   alphas ``{0.5, 1, 2} x`` the calibrated alpha, both signs;
3. (full run) the lens bleed table (:mod:`steering_core.behaviour.lens`) on the probe questions.

The reduced run (CI) does 1 only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from steering_core.behaviour.calibrate import EVALUATION_SLICE
from steering_core.behaviour.contract import ContractResult, StyleContract, evaluate
from steering_core.behaviour.session import Session, random_like
from steering_core.prompt_sets import DEFAULT_SET, prompt_set, prompt_set_digest

RANDOM_SEED = 1234
PARITY_MULTIPLES = (0.5, 1.0, 2.0)
STYLES = ("terse", "formal", "socratic", "dry-wit")


@dataclass
class RunConfig:
    """What a run does."""

    styles: list[str] = field(default_factory=lambda: list(STYLES))
    max_new_tokens: int = 96
    parity: bool = True
    lens: bool = True
    lens_max_new_tokens: int = 48

    @classmethod
    def full(cls) -> RunConfig:
        """Contracts, controls, prompt-vs-injection and lens."""
        return cls()

    @classmethod
    def reduced(cls) -> RunConfig:
        """Contracts and controls only (the CI-sized run)."""
        return cls(parity=False, lens=False)


@dataclass
class StyleOutcome:
    """One style's contract and its controls."""

    contract: StyleContract
    calibrated: ContractResult
    zero_alpha: ContractResult
    random_vector: ContractResult

    @property
    def specific(self) -> bool:
        """The contract passes and neither negative control does."""
        return self.calibrated.passed and not self.zero_alpha.passed and not self.random_vector.passed

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; the primary criterion is flattened to the top level for tables and plots."""
        cal = self.calibrated.to_dict()
        primary = cal["criteria"][0]
        return {
            "style": self.contract.style,
            "description": self.contract.description,
            "metric": primary["metric"],
            "rule": primary["rule"],
            "layer": self.contract.layer,
            "alpha": self.contract.alpha,
            "ratio": self.contract.ratio,
            "baseline_mean": primary["baseline_mean"],
            "steered_mean": primary["steered_mean"],
            "effect": primary["effect"],
            "ci_low": primary["ci_low"],
            "ci_high": primary["ci_high"],
            "threshold": primary["threshold"],
            "passed": self.calibrated.passed,
            "specific": self.specific,
            "conditions": {
                "calibrated": cal,
                "alpha_zero": self.zero_alpha.to_dict(),
                "random_vector": self.random_vector.to_dict(),
            },
        }


@dataclass
class BehaviourResult:
    """Everything one run measured."""

    meta: dict[str, Any]
    questions: list[str]
    baseline: list[str]
    outcomes: list[StyleOutcome]
    steered_answers: dict[str, dict[str, list[str]]]
    parity: list[dict[str, Any]] = field(default_factory=list)
    lens: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready report (the report page reads ``contracts``, ``parity`` and ``lens``)."""
        return {
            **self.meta,
            "questions": self.questions,
            "baseline_answers": self.baseline,
            "contracts": [o.to_dict() for o in self.outcomes],
            "answers": self.steered_answers,
            "parity": self.parity,
            "lens": self.lens[0] if self.lens else None,
            "lens_by_style": self.lens,
        }

    def to_markdown(self) -> str:
        """The human report."""
        from steering_core.behaviour.report import render_markdown

        return render_markdown(self.to_dict())


def run_behaviour(
    config: RunConfig,
    model: str | None = None,
    progress: Callable[[str], None] | None = None,
    calibration: dict[str, Any] | None = None,
    session: Session | None = None,
) -> BehaviourResult:
    """Run the checks of ``config`` (see the module docstring) and return the result."""
    import platform

    from contracts.style import load_calibration, style_contracts
    from steering_core.certify.fingerprint import config_fingerprint, weights_fingerprint
    from steering_core.models import load_model

    record = calibration if calibration is not None else load_calibration()
    contracts = style_contracts(record)
    if session is None:
        lm = load_model(model, progress=progress or (lambda _: None))
        session = Session(lm, config.max_new_tokens, progress=progress)
    questions = prompt_set(DEFAULT_SET)[EVALUATION_SLICE]
    session.prefetch(_requests(config, contracts, session, questions))  # one grid when an executor is set
    baseline = session.answers(questions)
    outcomes: list[StyleOutcome] = []
    answers: dict[str, dict[str, list[str]]] = {}
    for style in config.styles:
        contract = contracts[style]
        vector = session.vector(style, contract.layer)
        steered = session.answers(questions, vector, contract.alpha)
        random = session.answers(questions, random_like(vector, contract.layer, RANDOM_SEED), contract.alpha)
        answers[style] = {"calibrated": steered, "random_vector": random}
        outcomes.append(
            StyleOutcome(
                contract,
                evaluate(contract, questions, baseline, steered, "calibrated"),
                evaluate(contract, questions, baseline, baseline, "alpha=0 control"),
                evaluate(contract, questions, baseline, random, "random-vector control"),
            )
        )
        session.say(f"{style}: contract {'PASS' if outcomes[-1].calibrated.passed else 'FAIL'}")
    parity: list[dict[str, Any]] = []
    if config.parity:
        parity = [_parity(session, contracts[s], questions, baseline) for s in config.styles]
    lens: list[dict[str, Any]] = []
    if config.lens:
        lens = _lens(session, [contracts[s] for s in config.styles], config.lens_max_new_tokens)
    meta = {
        "schema": "steering-spec/behaviour-report/1",
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "mode": "full" if (config.parity or config.lens) else "reduced",
        "model": session.lm.name,
        "model_fingerprint": {
            "config_sha256": config_fingerprint(session.lm.model)["sha256"],
            "weights_sha256": weights_fingerprint(session.lm.model)["sha256"],
        },
        "calibration_created": record.get("created"),
        "prompt_set": DEFAULT_SET,
        "prompt_set_sha256": prompt_set_digest(DEFAULT_SET),
        "evaluation_questions": f"{EVALUATION_SLICE.start}:{EVALUATION_SLICE.stop}",
        "max_new_tokens": session.max_new_tokens,
        "random_seed": RANDOM_SEED,
        "n_generations": session.n_generations,
        "machine": {"platform": platform.platform(), "python": platform.python_version()},
    }
    return BehaviourResult(meta, questions, baseline, outcomes, answers, parity, lens)


def _requests(
    config: RunConfig, contracts: dict[str, StyleContract], session: Session, questions: list[str]
) -> list[tuple[list[str], Any, float]]:
    """Every generation of the contracts, controls and (full run) parity grid, to submit at once."""
    from steering_core.behaviour.parity import with_instruction
    from steering_core.styles import get_style

    out: list[tuple[list[str], Any, float]] = [(questions, None, 0.0)]
    for style in config.styles:
        contract = contracts[style]
        vector = session.vector(style, contract.layer)
        out.append((questions, vector, contract.alpha))
        out.append((questions, random_like(vector, contract.layer, RANDOM_SEED), contract.alpha))
        if config.parity:
            pair = get_style(contract.style).pairs[0]
            out.append(([with_instruction(pair.positive, q) for q in questions], None, 0.0))
            out.append(([with_instruction(pair.negative, q) for q in questions], None, 0.0))
            for multiple in PARITY_MULTIPLES:
                out += [(questions, vector, sign * multiple * contract.alpha) for sign in (1.0, -1.0)]
    return out


def _parity(session: Session, contract: StyleContract, questions: list[str], baseline: list[str]) -> dict[str, Any]:
    from steering_core.behaviour.parity import compare
    from steering_core.styles import get_style

    vector = session.vector(contract.style, contract.layer)

    def answer(texts: Any, alpha: float) -> list[str]:
        return session.answers(list(texts), vector, alpha)

    result = compare(
        get_style(contract.style),
        contract.primary.metric,
        contract.primary.direction,
        contract.layer,
        vector.norm(contract.layer),
        session.median_norm(contract.layer, prompt_set(DEFAULT_SET)),
        questions,
        [m * contract.alpha for m in PARITY_MULTIPLES],
        answer,
        baseline,
    )
    session.say(f"{contract.style}: parity alpha + {result.parity_positive} / - {result.parity_negative}")
    return result.to_dict()


def _lens(session: Session, contracts: list[StyleContract], max_new_tokens: int) -> list[dict[str, Any]]:
    from steering_core.behaviour.lens import lens_eval

    out: list[dict[str, Any]] = []
    baseline: list[str] | None = None
    for contract in contracts:
        vector = session.vector(contract.style, contract.layer)
        report = lens_eval(
            session.lm,
            vector=vector,
            alpha=contract.alpha,
            layer=contract.layer,
            max_new_tokens=max_new_tokens,
            baseline_answers=baseline,
            style=contract.style,
            residual_norm=session.median_norm(contract.layer, prompt_set(DEFAULT_SET)),
        )
        data = report.to_dict()
        baseline = list(data["answers"]["baseline"])
        out.append(data)
        session.say(f"{contract.style}: lens done")
    return out
