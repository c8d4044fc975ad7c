"""The FastAPI application of ``steer serve``.

Routes: ``POST /v1/chat/completions`` and ``POST /v1/completions`` (JSON, or server-sent events
with ``"stream": true``), ``GET /v1/models``, ``GET /v1/vectors``, ``GET /health``.

Errors are JSON in OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``, and bad
input is always a 4xx whose ``param`` names the field (``steering[0].alpha``, ``max_tokens``,
``body``...): 400 invalid request (malformed JSON, schema violations, unknown vector, alpha
outside the certified safe range without ``allow_unsafe``, prompt or ``max_tokens`` beyond the
context), 401 missing/wrong bearer token (when ``--api-key`` is set), 404 unknown model or route,
408 request timeout, 413 body over the limit, 429 concurrent-request limit reached. A 5xx means a
bug (the engine keeps serving; the failure is logged).

A client that disconnects (or times out) cancels its job; the engine drops the row at its next
decode step, which frees the batch slot.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from steering_core.errors import InvalidParameterError
from steering_core.models import LoadedModel
from steering_core.plan import CompiledPlan, Term, compile_plan
from steering_core.prompts import has_chat_template
from steering_core.serve.engine import Engine, Job
from steering_core.serve.schemas import (
    ChatCompletion,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    ErrorResponse,
    Health,
    ModelList,
    SteeringTerm,
    VectorList,
)
from steering_core.serve.vectors import VectorSet

log = logging.getLogger("steering_core.serve")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass(frozen=True)
class ServeSettings:
    """Limits and options of one server (all enforced per request)."""

    model_ids: tuple[str, ...]
    max_batch: int = 16
    max_concurrent: int = 64
    default_max_tokens: int = 256
    max_tokens: int = 1024
    max_prompt_tokens: int = 4096
    max_body_bytes: int = 1 << 20
    request_timeout_s: float = 300.0
    api_key: str | None = None


class ApiError(Exception):
    """An error answered as OpenAI-style JSON with ``status``."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code


_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error", 408: "timeout_error"}


def _error_json(status: int, message: str, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    kind = _TYPES.get(status, "rate_limit_error" if status == 429 else "server_error" if status >= 500 else "error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def _error_response(status: int, message: str, param: str | None = None, code: str | None = None) -> JSONResponse:
    return JSONResponse(_error_json(status, message, param, code), status_code=status)


def _loc(parts: tuple[Any, ...] | list[Any]) -> str:
    out = ""
    for part in parts:
        if part == "body" and not out:
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


class BodyLimit:
    """ASGI middleware: refuse request bodies over ``limit`` bytes with 413, before any parsing."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def _refuse(self, send: Send, message: str) -> None:
        body = json.dumps(_error_json(413, message, "body", "body_too_large")).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        for key, value in scope.get("headers", []):
            if key == b"content-length":
                text = value.decode("latin-1").strip()
                if not text.isdigit() or int(text) > self.limit:
                    await self._refuse(send, f"body: at most {self.limit} bytes, got Content-Length {text[:32]}")
                    return
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            part = message.get("body", b"")
            total += len(part)
            if total > self.limit:
                await self._refuse(send, f"body: at most {self.limit} bytes")
                return
            chunks.append(part)
            if not message.get("more_body", False):
                break
        data = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": data, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class _Server:
    """The state behind the routes: model, vectors, settings and the engine."""

    def __init__(self, loaded: LoadedModel, vectors: VectorSet, settings: ServeSettings, engine: Any = None) -> None:
        self.loaded, self.vectors, self.settings = loaded, vectors, settings
        # ``engine``: another engine with the same submit/stats/close interface (``--engine vllm``).
        if engine is None:
            engine = Engine(loaded.model, loaded.tokenizer, settings.max_batch, settings.max_concurrent)
        self.engine = engine
        config = getattr(loaded.model, "config", None)
        text = config.get_text_config() if config is not None and hasattr(config, "get_text_config") else config
        self.context = int(getattr(text, "max_position_embeddings", 0) or 1 << 30)
        limit = getattr(engine, "context", None)
        if isinstance(limit, int) and limit > 0:
            self.context = min(self.context, limit)
        self.created = int(time.time())

    # ------------------------------------------------------------------ request checks
    def check_model(self, name: str | None) -> None:
        if name is not None and name not in self.settings.model_ids:
            raise ApiError(
                404,
                f"model: this server serves {list(self.settings.model_ids)}, got {name!r}",
                "model",
                "model_not_found",
            )

    def plan(self, terms: list[SteeringTerm], allow_unsafe: bool) -> CompiledPlan | None:
        compiled: list[Term] = []
        for i, term in enumerate(terms):
            served = self.vectors.get(term.vector)
            if served is None:
                known = ", ".join(sorted(self.vectors.vectors)) or "none"
                raise ApiError(
                    400,
                    f"steering[{i}].vector: unknown vector {term.vector!r}; served vectors: {known}",
                    f"steering[{i}].vector",
                    "unknown_vector",
                )
            bound = served.safe_alpha_max
            if abs(term.alpha) > bound and not allow_unsafe:
                raise ApiError(
                    400,
                    f"steering[{i}].alpha: expected a value in the certified safe range [{-bound:g}, {bound:g}] of "
                    f'vector {served.name!r} (or "allow_unsafe": true), got {term.alpha!r}',
                    f"steering[{i}].alpha",
                    "alpha_outside_safe_range",
                )
            # The vector's model identity was verified at start-up by the weights fingerprint
            # (stronger than the recorded name, which may be another alias of the same model).
            compiled.append(
                Term(
                    vector=served.vector,
                    alpha=term.alpha,
                    layers=served.layers,
                    positions=term.positions,
                    allow_other_model=True,
                )
            )
        if not compiled:
            return None
        try:
            plan = compile_plan(self.loaded.model, compiled, "steering")
        except InvalidParameterError as error:
            raise ApiError(400, str(error), error.parameter, "invalid_steering") from error
        return None if plan.empty else plan

    def budget(self, requested: int | None, prompt_len: int) -> int:
        limit = self.settings.max_tokens
        if requested is not None and requested > limit:
            raise ApiError(400, f"max_tokens: expected an integer in [1, {limit}], got {requested}", "max_tokens")
        room = self.context - prompt_len
        wanted = requested if requested is not None else min(self.settings.default_max_tokens, max(room, 1))
        if wanted > room:
            raise ApiError(
                400,
                f"max_tokens: the prompt has {prompt_len} tokens and the context {self.context}, so at most {room} "
                f"new tokens fit, got {wanted}",
                "max_tokens",
                "context_length_exceeded",
            )
        return wanted

    def encode_chat(self, request: ChatCompletionRequest) -> list[int]:
        tokenizer = self.loaded.tokenizer
        messages = [{"role": m.role, "content": m.content} for m in request.messages]
        if has_chat_template(tokenizer):
            try:
                text = tokenizer.apply_chat_template(
                    messages, tokenize=False, add_generation_prompt=True, enable_thinking=False
                )
            except Exception as error:  # a template that rejects this conversation (role order...)
                raise ApiError(400, f"messages: the chat template refused them: {error}", "messages") from error
        elif len(messages) == 1 and messages[0]["role"] == "user":
            text = messages[0]["content"]
        else:
            raise ApiError(400, "messages: this model has no chat template; send one user message", "messages")
        return self._ids(str(text), "messages")

    def _ids(self, text: str, param: str) -> list[int]:
        ids = [int(i) for i in self.loaded.tokenizer(text, add_special_tokens=False)["input_ids"]]
        if not ids:
            raise ApiError(400, f"{param}: expected at least one token, got none", param)
        if len(ids) > self.settings.max_prompt_tokens:
            raise ApiError(
                400, f"{param}: at most {self.settings.max_prompt_tokens} prompt tokens, got {len(ids)}", param
            )
        return ids

    def decode(self, tokens: list[int]) -> str:
        return str(self.loaded.tokenizer.decode(tokens, skip_special_tokens=True))


def _submit(server: _Server, ids: list[int], plan: CompiledPlan | None, budget: int) -> tuple[Job, asyncio.Queue[Any]]:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()

    def on_event(kind: str, value: Any) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, (kind, value))

    job = Job(ids, plan, budget, on_event)
    if not server.engine.submit(job):
        raise ApiError(
            429,
            f"too many concurrent requests (limit {server.settings.max_concurrent}); retry later",
            None,
            "concurrency_limit",
        )
    return job, queue


async def _next_event(
    queue: asyncio.Queue[Any], job: Job, deadline: float, request: Request | None
) -> tuple[str, Any] | None:
    """The next engine event; None when the client went away. Raises ApiError(408) at the deadline."""
    loop = asyncio.get_running_loop()
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            job.cancel()
            raise ApiError(408, "timeout: the request did not finish within the server's time limit", None, "timeout")
        try:
            event: tuple[str, Any] = await asyncio.wait_for(queue.get(), timeout=min(remaining, 0.5))
            return event
        except TimeoutError:
            if request is not None and await request.is_disconnected():
                job.cancel()
                return None


def create_app(loaded: LoadedModel, vectors: VectorSet, settings: ServeSettings, engine: Any = None) -> FastAPI:
    """The application serving ``loaded`` with ``vectors`` under ``settings`` (starts the engine).

    ``engine``: None for the Hugging Face engine, else an engine object with ``submit(job)``,
    ``stats()``, ``close()`` and optionally ``context`` (e.g. :class:`.engine_vllm.VllmServeEngine`).
    """
    server = _Server(loaded, vectors, settings, engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await run_in_threadpool(server.engine.close)

    app = FastAPI(
        title="steer serve",
        version="1",
        description="OpenAI-compatible completions where each request steers with certified vectors.",
        lifespan=lifespan,
    )
    app.state.server = server
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    errors: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorResponse, "description": text}
        for code, text in (
            (400, "invalid request (the param names the field)"),
            (401, "missing or wrong bearer token"),
            (404, "unknown model"),
            (408, "timeout"),
            (413, "body too large"),
            (429, "concurrent-request limit reached"),
        )
    }

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, error: ApiError) -> JSONResponse:
        return _error_response(error.status, error.message, error.param, error.code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {"loc": ("body",), "msg": "invalid", "type": "invalid"}
        where = _loc(tuple(first.get("loc", ("body",))))
        if first.get("type") == "json_invalid":
            return _error_response(400, f"body: malformed JSON ({first.get('msg')})", "body", "json_invalid")
        got = first.get("input")
        shown = repr(got)[:80] if not isinstance(got, (dict, list)) else type(got).__name__
        return _error_response(400, f"{where}: {first.get('msg')} (got {shown})", where, str(first.get("type")))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        return _error_response(error.status_code, str(error.detail), None, None)

    @app.exception_handler(Exception)
    async def _bug(_request: Request, error: Exception) -> JSONResponse:
        log.exception("serve: unexpected error")
        return _error_response(500, f"internal error ({type(error).__name__})", None, "internal_error")

    async def auth(request: Request) -> None:
        key = settings.api_key
        if key is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(token.strip().encode(), key.encode()):
            raise ApiError(401, "authorization: expected 'Authorization: Bearer <api key>'", "authorization")

    @app.get("/health", response_model=Health)
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "model": settings.model_ids[0],
            "engine": server.engine.stats(),
            "rss_bytes": _rss_bytes(),
            "limits": {
                "max_batch": settings.max_batch,
                "max_concurrent": settings.max_concurrent,
                "max_tokens": settings.max_tokens,
                "max_prompt_tokens": settings.max_prompt_tokens,
                "max_body_bytes": settings.max_body_bytes,
                "request_timeout_s": settings.request_timeout_s,
                "context": server.context,
            },
        }

    @app.get("/v1/models", response_model=ModelList, responses=errors, dependencies=[Depends(auth)])
    async def models() -> dict[str, Any]:
        cards = [
            {"id": name, "object": "model", "created": server.created, "owned_by": "steering-spec"}
            for name in settings.model_ids
        ]
        return {"object": "list", "data": cards}

    @app.get("/v1/vectors", response_model=VectorList, responses=errors, dependencies=[Depends(auth)])
    async def list_vectors() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [v.describe() for _, v in sorted(vectors.vectors.items())],
            "skipped": [{"file": f, "reason": r} for f, r in vectors.skipped],
        }

    async def run(
        request: Request,
        body: ChatCompletionRequest | CompletionRequest,
        ids: list[int],
        requested: int | None,
        chat: bool,
    ) -> Any:
        budget = server.budget(requested, len(ids))
        plan = server.plan(body.steering, body.allow_unsafe)
        job, queue = _submit(server, ids, plan, budget)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + settings.request_timeout_s
        ident = ("chatcmpl-" if chat else "cmpl-") + uuid.uuid4().hex
        created = int(time.time())
        model_id = body.model or settings.model_ids[0]
        steering = [t.model_dump() for t in body.steering]
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            return StreamingResponse(
                _stream(
                    server,
                    job,
                    queue,
                    deadline,
                    ident,
                    created,
                    model_id,
                    chat,
                    include_usage,
                    len(ids),
                    body.return_token_ids,
                ),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache"},
            )
        try:
            while True:
                event = await _next_event(queue, job, deadline, request)
                if event is None:
                    return JSONResponse(_error_json(400, "client disconnected", None, "client_disconnected"), 400)
                kind, value = event
                if kind == "done":
                    break
                if kind == "error":
                    raise ApiError(500, f"generation failed: {value}", None, "engine_error")
        finally:
            if job.finish_reason is None:
                job.cancel()
        text = server.decode(job.tokens)
        usage = {
            "prompt_tokens": len(ids),
            "completion_tokens": len(job.tokens),
            "total_tokens": len(ids) + len(job.tokens),
        }
        reason = job.finish_reason or "stop"
        if chat:
            choice: dict[str, Any] = {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": reason,
            }
            kind_name = "chat.completion"
        else:
            choice = {"index": 0, "text": text, "finish_reason": reason}
            kind_name = "text_completion"
        if body.return_token_ids:
            choice["token_ids"] = list(job.tokens)
        return {
            "id": ident,
            "object": kind_name,
            "created": created,
            "model": model_id,
            "choices": [choice],
            "usage": usage,
            "steering": steering,
        }

    @app.post(
        "/v1/chat/completions",
        response_model=ChatCompletion,
        responses={**errors, 200: {"content": {"text/event-stream": {}}}},
        dependencies=[Depends(auth)],
    )
    async def chat_completions(request: Request, body: ChatCompletionRequest) -> Any:
        server.check_model(body.model)
        if body.max_tokens is not None and body.max_completion_tokens is not None:
            raise ApiError(
                400, "max_completion_tokens: give max_tokens or max_completion_tokens, not both", "max_tokens"
            )
        ids = await run_in_threadpool(server.encode_chat, body)
        requested = body.max_completion_tokens if body.max_completion_tokens is not None else body.max_tokens
        return await run(request, body, ids, requested, chat=True)

    @app.post(
        "/v1/completions",
        response_model=Completion,
        responses={**errors, 200: {"content": {"text/event-stream": {}}}},
        dependencies=[Depends(auth)],
    )
    async def completions(request: Request, body: CompletionRequest) -> Any:
        server.check_model(body.model)
        if body.echo:
            raise ApiError(400, "echo: not supported (must be false)", "echo")
        ids = await run_in_threadpool(server._ids, body.prompt, "prompt")
        return await run(request, body, ids, body.max_tokens, chat=False)

    def openapi() -> dict[str, Any]:
        """The generated schema, with the served vector names as the enum of ``steering[].vector``."""
        if app.openapi_schema is None:
            spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            names = sorted(vectors.vectors)
            term = spec.get("components", {}).get("schemas", {}).get("SteeringTerm", {})
            if names and "vector" in term.get("properties", {}):
                term["properties"]["vector"]["enum"] = names
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _sse(data: Any) -> bytes:
    return f"data: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def _stream(
    server: _Server,
    job: Job,
    queue: asyncio.Queue[Any],
    deadline: float,
    ident: str,
    created: int,
    model_id: str,
    chat: bool,
    include_usage: bool,
    prompt_tokens: int,
    token_ids: bool = False,
) -> AsyncIterator[bytes]:
    """Server-sent events: one chunk per decoded text delta, a final chunk, then ``[DONE]``."""
    kind_name = "chat.completion.chunk" if chat else "text_completion"

    def chunk(
        piece: str | None, reason: str | None, role: bool = False, ids: list[int] | None = None
    ) -> dict[str, Any]:
        if chat:
            delta: dict[str, Any] = {"role": "assistant"} if role else {}
            if piece is not None:
                delta["content"] = piece
            choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": reason}
        else:
            choice = {"index": 0, "text": piece or "", "finish_reason": reason}
        if ids is not None:
            choice["token_ids"] = ids
        return {"id": ident, "object": kind_name, "created": created, "model": model_id, "choices": [choice]}

    sent = ""
    seen: list[int] = []
    try:
        if chat:
            yield _sse(chunk(None, None, role=True))
        while True:
            try:
                event = await _next_event(queue, job, deadline, None)
            except ApiError as error:
                yield _sse(_error_json(error.status, error.message, error.param, error.code))
                yield b"data: [DONE]\n\n"
                return
            assert event is not None
            kind, value = event
            if kind == "token":
                seen.append(int(value))
                text = server.decode(seen)
                if text.endswith("\ufffd") or not text.startswith(sent):
                    if token_ids:
                        yield _sse(chunk("", None, ids=[int(value)]))
                    continue  # an incomplete UTF-8 sequence: wait for the next token
                piece, sent = text[len(sent) :], text
                if piece or token_ids:
                    yield _sse(chunk(piece, None, ids=[int(value)] if token_ids else None))
                continue
            if kind == "error":
                yield _sse(_error_json(500, f"generation failed: {value}", None, "engine_error"))
                yield b"data: [DONE]\n\n"
                return
            text = server.decode(seen)
            rest = text[len(sent) :] if text.startswith(sent) else ""
            yield _sse(chunk(rest if rest else None, job.finish_reason or "stop"))
            if include_usage:
                usage = {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": len(job.tokens),
                    "total_tokens": prompt_tokens + len(job.tokens),
                }
                yield _sse(
                    {
                        "id": ident,
                        "object": kind_name,
                        "created": created,
                        "model": model_id,
                        "choices": [],
                        "usage": usage,
                    }
                )
            yield b"data: [DONE]\n\n"
            return
    finally:
        if job.finish_reason is None:
            job.cancel()  # client gone mid-stream (or an error): free the batch slot
