"""Request and response bodies of ``steer serve`` (OpenAI-compatible, plus ``steering``).

Static bounds live here so that they appear in the OpenAPI schema (and Schemathesis generates
from them); bounds that depend on the served model or the server's settings (context length,
``--max-tokens``, a vector's safe range) are checked in :mod:`.app` and answered with a 400
naming the field.

Decoding is greedy only: ``temperature`` must be 0 (or omitted), ``top_p`` 1, ``n`` 1. Fields
that the server does not implement are refused (400 naming the field), never silently ignored;
``user`` and ``seed`` are accepted (metadata; greedy decoding needs no seed).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_STEERING_TERMS = 8
ALPHA_LIMIT = 1.0e6
MAX_MESSAGES = 64
MAX_CONTENT_CHARS = 65_536
MAX_TOKENS_LIMIT = 4096
MAX_NAME_CHARS = 128


class SteeringTerm(BaseModel):
    """One steering term: add ``alpha * vector`` at the vector's layers, at ``positions``."""

    model_config = ConfigDict(extra="forbid")

    vector: str = Field(min_length=1, max_length=MAX_NAME_CHARS, description="a name listed by GET /v1/vectors")
    alpha: float = Field(
        ge=-ALPHA_LIMIT,
        le=ALPHA_LIMIT,
        allow_inf_nan=False,
        description="finite; inside the vector's certified safe range unless allow_unsafe is true",
    )
    positions: Literal["all", "prompt", "generated"] = "all"


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    include_usage: bool = False


class _Common(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(default=None, max_length=MAX_NAME_CHARS)
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_TOKENS_LIMIT)
    temperature: float | None = Field(default=None, ge=0, le=0, description="greedy decoding only: 0")
    top_p: float | None = Field(default=None, ge=1, le=1, description="greedy decoding only: 1")
    n: int = Field(default=1, ge=1, le=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    seed: int | None = None
    user: str | None = Field(default=None, max_length=256)
    steering: list[SteeringTerm] = Field(
        default_factory=list,
        max_length=MAX_STEERING_TERMS,
        description="steering terms for this request; several terms add up, in order",
    )
    allow_unsafe: bool = Field(default=False, description="allow alphas outside the certified safe range")
    return_token_ids: bool = Field(default=False, description="extension: also return the generated token ids")


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=MAX_CONTENT_CHARS)
    name: str | None = Field(default=None, max_length=MAX_NAME_CHARS)


class ChatCompletionRequest(_Common):
    """``POST /v1/chat/completions``."""

    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=MAX_TOKENS_LIMIT)


class CompletionRequest(_Common):
    """``POST /v1/completions`` (one prompt string, no chat template)."""

    prompt: str = Field(min_length=1, max_length=MAX_CONTENT_CHARS)
    echo: bool = Field(default=False, description="not supported: must be false")


class ErrorBody(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    """Every 4xx (and the never-expected 5xx) answer."""

    error: ErrorBody


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatMessageOut(BaseModel):
    role: Literal["assistant"]
    content: str


class ChatChoice(BaseModel):
    index: int
    message: ChatMessageOut
    finish_reason: str
    token_ids: list[int] | None = None


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage
    steering: list[SteeringTerm]


class CompletionChoice(BaseModel):
    index: int
    text: str
    finish_reason: str
    token_ids: list[int] | None = None


class Completion(BaseModel):
    id: str
    object: Literal["text_completion"]
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: Usage
    steering: list[SteeringTerm]


class ModelCard(BaseModel):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"]
    data: list[ModelCard]


class VectorList(BaseModel):
    object: Literal["list"]
    data: list[dict[str, Any]]
    skipped: list[dict[str, str]]


class Health(BaseModel):
    status: Literal["ok"]
    model: str
    engine: dict[str, int]
    rss_bytes: int
    limits: dict[str, Any]
