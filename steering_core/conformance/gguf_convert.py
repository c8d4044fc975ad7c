"""Convert a Hugging Face model folder to GGUF with llama.cpp's own ``convert_hf_to_gguf.py``.

A standalone script (run by path, ``python gguf_convert.py ...``), not imported by the package:
it puts llama.cpp's converter folder (``convert_hf_to_gguf.py``, ``conversion/`` and the vendored
``gguf-py`` from the llama-cpp-python sdist, see ``scripts/fetch_llama_convert.sh``) first on
``sys.path`` and runs the converter's ``main()`` unchanged, with one optional exception:

``--placeholder-vocab`` replaces the converter's vocabulary step (and only it) with a
placeholder SentencePiece-style vocabulary of ``vocab_size`` tokens (``<0x00>``..``<0xFF>`` byte
tokens, then ``<tok N>``). The conformance kit feeds llama.cpp token ids that the Hugging Face
tokenizer produced, so llama.cpp's own tokenizer is never used; the placeholder exists because
the converter refuses tokenizers whose pre-tokenizer hash it does not know (the character-level
tokenizer of the tiny test models). Weights, hyper-parameters, tensor names and the q/k
permutation stay the converter's.

Needs an interpreter with torch, numpy and safetensors (and ``sentencepiece``, which the
converter imports for Llama-family vocabularies).

    python gguf_convert.py --converter DIR [--placeholder-vocab] [--outtype f32] MODEL_DIR OUT.gguf
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

BYTE_TOKENS = 256
TOKEN_TYPE_NORMAL = 1
TOKEN_TYPE_BYTE = 6


def placeholder_tokens(n_vocab: int) -> tuple[list[str], list[int]]:
    """``n_vocab`` distinct token strings and their GGUF token types (byte tokens first).

    Pre: ``n_vocab >= 256`` (llama.cpp's SentencePiece vocabulary looks up the byte token of
    ``"\\n"``).
    """
    if n_vocab < BYTE_TOKENS:
        raise ValueError(f"vocab_size must be at least {BYTE_TOKENS} for a placeholder vocabulary, got {n_vocab}")
    tokens = [f"<0x{b:02X}>" for b in range(BYTE_TOKENS)] + [f"<tok {i}>" for i in range(BYTE_TOKENS, n_vocab)]
    types = [TOKEN_TYPE_BYTE] * BYTE_TOKENS + [TOKEN_TYPE_NORMAL] * (n_vocab - BYTE_TOKENS)
    return tokens, types


def _placeholder_set_vocab(self: Any) -> None:
    tokens, types = placeholder_tokens(int(self.hparams["vocab_size"]))
    self.gguf_writer.add_tokenizer_model("llama")
    self.gguf_writer.add_tokenizer_pre("default")
    self.gguf_writer.add_token_list(tokens)
    self.gguf_writer.add_token_scores([0.0] * len(tokens))
    self.gguf_writer.add_token_types(types)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--converter", required=True, help="folder holding convert_hf_to_gguf.py")
    parser.add_argument("--placeholder-vocab", action="store_true")
    parser.add_argument("--outtype", default="f32", choices=["f32", "f16", "bf16", "q8_0"])
    parser.add_argument("model")
    parser.add_argument("out")
    args = parser.parse_args(argv)
    converter = Path(args.converter).resolve()
    if not (converter / "convert_hf_to_gguf.py").is_file():
        raise SystemExit(f"no convert_hf_to_gguf.py in {converter}")
    sys.path.insert(0, str(converter / "gguf-py"))
    sys.path.insert(0, str(converter))
    # deferred: convert_hf_to_gguf.py is llama.cpp's script, importable only from --converter's folder (path above)
    import convert_hf_to_gguf as convert

    if args.placeholder_vocab:
        original = convert.get_model_class

        def with_placeholder_vocab(*a: Any, **k: Any) -> Any:
            cls = original(*a, **k)
            return type(cls.__name__, (cls,), {"set_vocab": _placeholder_set_vocab, "model_arch": cls.model_arch})

        convert.get_model_class = with_placeholder_vocab
    sys.argv = ["convert_hf_to_gguf.py", "--outtype", args.outtype, "--outfile", args.out, args.model]
    convert.main()


if __name__ == "__main__":
    main()
