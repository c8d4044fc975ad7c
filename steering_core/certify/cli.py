"""``steer vector certify | verify | sign | export-gguf | import-gguf | keygen``: certified vectors.

:func:`add_subcommands` adds them to the ``steer`` parser (under ``steer vector``; the old
top-level spellings ``steer certify`` etc. stay for one release with a deprecation note); each handler takes the parsed
namespace and returns the exit status: 0 on success, 1 when verification or certification
failed (the report or the error says which check), 2 for unusable arguments.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from steering_core.argtypes import comma_floats
from steering_core.certify.errors import CertificateError
from steering_core.cli_options import add_alpha, add_layers, add_model, add_style, deprecated_alias
from steering_core.defaults import (
    CERTIFY_ALPHAS,
    CERTIFY_BEHAVIOUR_PROMPTS,
    CERTIFY_CALIBRATION_PROMPTS,
    CERTIFY_MAX_NEW_TOKENS,
    DEFAULT_LAYER,
)
from steering_core.errors import InvalidParameterError
from steering_core.execute.options import add_executor_args
from steering_core.prompt_sets import DEFAULT_SET

# deferred imports: command handlers import what they run inside the handler, so that building
# the parser at start-up (steer --help, argument errors) loads no torch, transformers, matplotlib
# or z3 (tests/refactor/test_startup.py).


def _floats(text: str) -> tuple[float, ...]:
    return tuple(comma_floats(text))


def _say(message: str) -> None:
    print(f"[steer] {message}", file=sys.stderr, flush=True)


def _fail(error: CertificateError, what: str) -> int:
    print(f"steer {what}: FAILED at check '{error.check}': {error.detail}", file=sys.stderr)
    return 1


def cmd_certify(args: argparse.Namespace) -> int:
    """Extract (or import), measure, check and write a certified vector atomically."""
    from steering_core.certify.measure import Cell, Protocol
    from steering_core.certify.pipeline import certify_vector, write_certified
    from steering_core.certify.signing import read_key
    from steering_core.certify.verify import contract_lines
    from steering_core.extract import extract
    from steering_core.models import load_model

    layers = args.layers if args.layers is not None else [DEFAULT_LAYER]
    if args.contracts:  # checked before the model loads: the contracts need one of the seed styles
        from steering_core.behaviour.criteria import CRITERIA

        judged = args.style_name if args.from_gguf else args.style
        if judged not in CRITERIA:
            flag = "--style-name" if args.from_gguf else "--style"
            raise InvalidParameterError(
                flag, f"one of the seed styles {sorted(CRITERIA)} with --contracts", repr(judged)
            )
    try:
        seed = read_key(args.sign, "private key") if args.sign else None
        protocol = Protocol(
            args.prompt_set, args.calibration_prompts, args.behaviour_prompts, args.max_new_tokens, args.alphas
        )
        parsed = None
        if args.from_gguf:  # parsed (bounded, strict) before the model is loaded: bad files fail at once
            from steering_core.certify.gguf_interop import read_control_vector

            parsed = read_control_vector(args.from_gguf)
        loaded = load_model(args.model, progress=_say)
        recipe: dict[str, Any] | None = None
        if parsed is not None:
            vector = parsed.to_steering_vector(loaded.num_layers, loaded.name, args.style_name or "imported")
            if args.layers is not None:
                vector = vector.select(layers)
            recipe = parsed.recipe_block()
            _say(f"imported {args.from_gguf}: layers {vector.layer_indices}, model hint {parsed.model_hint!r}")
        else:
            _say(f"extracting style {args.style!r} at layers {layers}")
            vector = extract(
                loaded,
                style=args.style,
                layers=layers,
                read_at=args.position,
                aggregator=args.aggregator,
                normalize=args.normalize,
            )

        def report(cell: Cell) -> None:
            _say(
                f"alpha {cell.alpha:>6g}: {cell.phase:<9} mean words {cell.mean_words:6.1f}, "
                f"degenerate {cell.n_degenerate}, identical {cell.n_identical}"
            )

        _say(
            f"measuring: {protocol.calibration_prompts} calibration prompts, {protocol.behaviour_prompts} behaviour "
            f"prompts x {protocol.max_new_tokens} tokens, alphas {list(protocol.with_alpha(args.alpha).alphas)}"
        )
        contracts = None
        if args.contracts:
            from steering_core.behaviour.certificate import contracts_block

            style = args.style_name if parsed is not None else args.style
            _say(f"directed contracts of {style!r} on this vector (both directions, held-out questions)")
            contracts = contracts_block(loaded, vector, style, progress=_say)
        from steering_core.execute.cli import open_execution

        with open_execution(args, [loaded], _say) as execution:
            certified = certify_vector(
                loaded,
                vector,
                alpha=args.alpha,
                protocol=protocol,
                recipe=recipe,
                signing_seed=seed,
                on_cell=report,
                execution=execution,
                contracts=contracts,
            )
        path = write_certified(args.out, certified)
    except CertificateError as error:
        return _fail(error, "certify")
    body = certified.body
    rec = body["recommendation"]
    effect = rec["effect"]
    print(f"wrote {path} ({path.stat().st_size} bytes), digest sha256 {certified.digest}")
    print(
        f"model {body['model']['name']} ({body['model']['architecture']}), style {body['vector']['style']!r}, "
        f"layers {body['vector']['layers']}, norms "
        + ", ".join(f"L{k} {v:.3f}" for k, v in body["vector"]["norms"].items())
    )
    print(f"thresholds: {body['measurement']['thresholds']}")
    print(
        f"recommended alpha {rec['alpha']:g} (ratio "
        + ", ".join(f"L{k} {v:.3f}" for k, v in rec["perturbation_ratio"].items())
        + f"), safe up to alpha {rec['safe_alpha_max']:g}; mean words {effect['baseline']:.1f} -> "
        f"{effect['steered']:.1f} ({effect['relative_change']:+.0%})"
    )
    print(f"properties verified: {', '.join(c['id'] for c in body['properties']['checks'])}")
    for line in contract_lines(body):
        print(line)
    print("signed (Ed25519)" if certified.signed else "UNSIGNED (pass --sign KEY to sign)")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Verify a certified file; exit 0 only when every check passed."""
    from steering_core.certify.verify import read_public_key, verify_file

    try:
        key = read_public_key(args.public_key)
    except CertificateError as error:
        return _fail(error, "verify")
    model: Any = None
    if args.model is not None:
        from steering_core.models import load_model

        model = load_model(args.model, progress=_say)
    report = verify_file(args.file, model=model, public_key=key)
    print(report.render())
    return 0 if report.ok else 1


def cmd_export_gguf(args: argparse.Namespace) -> int:
    """Verify a certified file, then export it as a llama.cpp control-vector GGUF."""
    from steering_core.certify.gguf_interop import export_gguf
    from steering_core.certify.verify import read_public_key, verify_file

    try:
        key = read_public_key(args.public_key)
    except CertificateError as error:
        return _fail(error, "export-gguf")
    report = verify_file(args.file, public_key=key)
    if report.first_error() is not None or report.certified is None:
        print(report.render())
        return 1
    out = args.out or str(Path(args.file).with_suffix(".gguf"))
    try:
        path = export_gguf(report.certified, out, embed_certificate=not args.no_certificate)
    except CertificateError as failure:
        return _fail(failure, "export-gguf")
    rec = report.certified.body["recommendation"]
    layers = report.certified.body["vector"]["layers"]
    print(f"wrote {path} (general.architecture=controlvector, direction.{{{','.join(map(str, layers))}}})")
    print(
        f"use: llama-cli -m MODEL.gguf --control-vector-scaled {path} {rec['alpha']:g} "
        f"--control-vector-layer-range {min(layers)} {max(layers)}"
    )
    return 0


def cmd_import_gguf(args: argparse.Namespace) -> int:
    """Restore the certified file embedded in a GGUF export (verified, written atomically)."""
    from steering_core.certify.fileformat import write_atomic
    from steering_core.certify.gguf_interop import import_certified

    try:
        certified = import_certified(args.file)
        path = write_atomic(args.out, certified.to_bytes())
    except CertificateError as error:
        return _fail(error, "import-gguf")
    print(f"wrote {path}: certified vector restored and verified (digest {certified.digest[:16]}...)")
    return 0


def cmd_sign(args: argparse.Namespace) -> int:
    """Verify a certified file offline, then (re)sign its digest; the body and tensors are unchanged."""
    from steering_core.certify.certificate import resign
    from steering_core.certify.fileformat import write_atomic
    from steering_core.certify.signing import read_key
    from steering_core.certify.verify import verify_file

    report = verify_file(args.file)
    if report.first_error() is not None or report.certified is None:
        print(report.render())
        return 1
    try:
        signed = resign(report.certified, read_key(args.key, "private key"))
        path = write_atomic(args.out or args.file, signed.to_bytes())
    except CertificateError as error:
        return _fail(error, "sign")
    key = signed.certificate["signature"]["public_key"]
    print(f"signed {path}: Ed25519 over digest {signed.digest[:16]}..., public key {key}")
    return 0


def cmd_keygen(args: argparse.Namespace) -> int:
    """Write a new Ed25519 key pair (KEY with mode 0600, KEY.pub)."""
    from steering_core.certify.signing import generate_keypair

    try:
        private, public = generate_keypair(args.out)
    except CertificateError as error:
        return _fail(error, "keygen")
    print(f"wrote private key {private} (keep it secret) and public key {public}")
    return 0


def add_subcommands(sub: argparse._SubParsersAction, *, deprecated_prefix: str | None = None) -> None:  # type: ignore[type-arg]
    """Add ``certify``, ``verify``, ``sign``, ``keygen``, ``export-gguf`` and ``import-gguf`` to ``sub``.

    ``steer`` adds them under ``steer vector``; with ``deprecated_prefix`` (``"steer vector"``)
    they are added again as hidden top-level aliases that print a deprecation note.
    """

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        if deprecated_prefix is None:
            parser: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=help_text)
            return parser
        return deprecated_alias(
            sub.add_parser(name, description=help_text), f"steer {name}", f"{deprecated_prefix} {name}"
        )

    p = add("certify", "extract, measure, check and write a certified steering vector")
    add_model(p, help="embedded name, local folder or HF id (default: embedded)")
    add_style(p)
    add_layers(p, default=None, help=f"decoder layers, 0-based: 12 or 10,12 (default {DEFAULT_LAYER})")
    p.add_argument("--position", choices=["last", "mean"], default="last")
    p.add_argument("--aggregator", choices=["mean", "pca"], default="mean")
    p.add_argument("--normalize", action="store_true", help="unit-normalise each layer (scaling 'unit')")
    add_alpha(p, default=None, help="alpha to certify (must measure effective)")
    p.add_argument("--alphas", type=_floats, default=CERTIFY_ALPHAS, help="alpha grid of the behaviour sweep")
    p.add_argument("--prompt-set", default=DEFAULT_SET)
    p.add_argument("--calibration-prompts", type=int, default=CERTIFY_CALIBRATION_PROMPTS)
    p.add_argument("--behaviour-prompts", type=int, default=CERTIFY_BEHAVIOUR_PROMPTS)
    p.add_argument("--max-new-tokens", type=int, default=CERTIFY_MAX_NEW_TOKENS)
    p.add_argument("--from-gguf", default=None, help="certify the directions of a control-vector GGUF (e.g. repeng)")
    p.add_argument("--style-name", default=None, help="style label for --from-gguf vectors")
    p.add_argument("--sign", default=None, metavar="KEY", help="Ed25519 private key file (64 hex chars)")
    p.add_argument(
        "--contracts",
        action="store_true",
        help="also run the style's directed contracts (both directions, reliability) on this vector and store "
        "them in the certificate (a seed style: --style, or --style-name for --from-gguf)",
    )
    p.add_argument("--out", required=True, help="output .safetensors (written atomically)")
    add_executor_args(p)
    p.set_defaults(func=cmd_certify)

    p = add("verify", "verify a certified vector: schema, digest, signature, tensors, [model]")
    p.add_argument("file")
    add_model(p, help="also check the fingerprint and re-measure the ratio on this model")
    p.add_argument("--public-key", default=None, metavar="K", help="require a valid signature by this key file")
    p.set_defaults(func=cmd_verify)

    p = add("export-gguf", "export a certified vector as a llama.cpp control vector")
    p.add_argument("file")
    p.add_argument("--out", default=None, help="output .gguf (default: FILE with .gguf)")
    p.add_argument("--public-key", default=None, metavar="K")
    p.add_argument("--no-certificate", action="store_true", help="do not embed the certificate in the GGUF")
    p.set_defaults(func=cmd_export_gguf)

    p = add("import-gguf", "restore a certified vector from a GGUF made by export-gguf")
    p.add_argument("file")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_import_gguf)

    p = add("sign", "sign an existing certified file (after verifying it); nothing is re-measured")
    p.add_argument("file")
    p.add_argument("--key", required=True, help="Ed25519 private key file (64 hex chars)")
    p.add_argument("--out", default=None, help="output file (default: replace FILE atomically)")
    p.set_defaults(func=cmd_sign)

    p = add("keygen", "create an Ed25519 key pair for --sign / --public-key")
    p.add_argument("--out", required=True, help="private key path; the public key goes to PATH.pub")
    p.set_defaults(func=cmd_keygen)
