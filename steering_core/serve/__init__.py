"""``steer serve``: an OpenAI-compatible HTTP server where each request steers with certified vectors.

Tooling layer (imports the library, never the other way round):

* :mod:`.engine`: the continuous-batching engine; one thread owns the model and every running
  request shares its forward passes, each row steered by its own plan
  (:func:`steering_core.steer.steer_rows`).
* :mod:`.vectors`: the certified vectors of a folder, verified against the served model at start-up.
* :mod:`.schemas`: the request and response bodies (pydantic; the OpenAPI schema comes from them).
* :mod:`.app`: the FastAPI application (routes, limits, errors as 4xx JSON naming the field).
* :mod:`.cli`: the ``steer serve`` command (uvicorn, loopback by default).
"""
