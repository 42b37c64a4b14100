"""The studio's web app: the page at / and a JSON API under /api (schema at /openapi.json, docs at /docs)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field
from starlette.datastructures import MutableHeaders
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sneakergan import __version__
from sneakergan.config import MAX_PAGE_SEED
from sneakergan.serve.studio import MAX_WAITING, Abandoned, Studio, StudioBusy, StudioTimeout, png_base64

MAX_TILES = 64  # sneakers per /api/generate request
MAX_STEPS = 32  # frames per /api/interpolate request
# The page's own script and style are inline; it loads nothing else (images are data: URLs).
PAGE_POLICY = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; "
               "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
# On every response: no MIME sniffing of the JSON and PNGs, and no page address sent to other sites.
SAFETY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
# The Host names served by default, those of this machine's loopback: a page of another site whose name
# was made to point at 127.0.0.1 (DNS rebinding) still sends its own name, and gets a 400.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
RETRY_AFTER_S = "5"  # the Retry-After of a 503

Stage = Literal["lr", "sr"]
Seed = Annotated[int, Query(ge=0, le=MAX_PAGE_SEED, description=f"a noise seed, 0 to {MAX_PAGE_SEED}")]
StageQuery = Annotated[Stage, Query(description="sr: 112x112 through both stages; lr: stage 1's 28x28 only")]
Label = Annotated[str | None, Query(description="a class of a class-conditional stage-1 model (see /api/health)")]


SrSeed = Annotated[int, Query(ge=0, le=MAX_PAGE_SEED, description="seed of stage 2's details (a stage 2 with noise "
                             "inputs: another value re-rolls them; `generate --sr-seed`)")]


class SneakerOut(BaseModel):
    seed: int = Field(description="its seed: the first sneaker of `sneakergan generate --seed SEED -n 1`")
    png: str = Field(description="base64 PNG of the requested stage (112x112 for sr, 28x28 for lr)")
    lr_png: str = Field(description="base64 PNG of stage 1's 28x28 sneaker (stage 2's input)")


class GenerateOut(BaseModel):
    seed: int
    sr_seed: int
    n: int
    stage: Stage
    label: str | None
    size: int = Field(description="width and height of `png` in pixels")
    sneakers: list[SneakerOut]


class InterpolateOut(BaseModel):
    seeds: list[int]
    steps: int
    stage: Stage
    label: str | None
    size: int
    frames: list[str] = Field(description="base64 PNGs from the first seed's sneaker to the second's")


class HealthOut(BaseModel):
    status: Literal["ok"] = "ok"
    version: str
    device: str
    precision: str
    stage1: str = Field(description="'bundled' or the stage-1 run folder")
    stage2: str
    conditional: bool = Field(description="whether stage 1 takes a class label")
    condition: str = Field(description="what a conditional stage 1 is conditioned on ('' when not)")
    class_names: list[str]
    stochastic_details: bool = Field(description="whether stage 2 has noise inputs (sr_seed re-rolls details)")
    lr_size: int
    sr_size: int
    max_n: int
    max_steps: int
    max_seed: int
    timeout_s: float


class ErrorOut(BaseModel):
    detail: str


ERRORS = {503: {"model": ErrorOut, "description": "the models stayed busy for the whole time limit, or "
                                                   f"{MAX_WAITING} requests were already waiting for them"},
          504: {"model": ErrorOut, "description": "generating took longer than the time limit"}}


def _invalid(field: str, value: object, message: str) -> RequestValidationError:
    """A 422 shaped like FastAPI's own validation errors."""
    return RequestValidationError([{"type": "value_error", "loc": ("query", field), "msg": message, "input": value}])


def host_names(bound: str) -> list[str]:
    """The Host header names to serve when listening on `bound` (a name or an address)."""
    try:
        address = ipaddress.ip_address(bound)
    except ValueError:
        return list(LOOPBACK_HOSTS) if bound == "localhost" else [bound]
    name = f"[{bound}]" if address.version == 6 else bound
    if address.is_unspecified:  # all interfaces: no one name to check against (the command warns about it)
        return ["*"]
    if address.is_loopback:
        return list(LOOPBACK_HOSTS) + ([] if name in LOOPBACK_HOSTS else [name])
    return [name]


class SafetyHeaders:
    """Adds SAFETY_HEADERS to every response (pure ASGI: errors, and the Host check's 400, included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(SAFETY_HEADERS)
            await send(message)

        await self.app(scope, receive, send_with_headers if scope["type"] == "http" else send)


def create_app(lr_run: str | Path | None = None, sr_run: str | Path | None = None, device: str = "cpu",
               precision: str = "auto", timeout: float = 60.0, allowed_hosts: Sequence[str] | None = None) -> FastAPI:
    """The studio app with both generators loaded (the bundled ones unless runs are given).
    `timeout`: seconds a request may take, waiting for the models included (then 503 or 504).
    `allowed_hosts`: the Host header names it serves, others get a 400 (default LOOPBACK_HOSTS; IPv6
    addresses in brackets; see `host_names`)."""
    studio = Studio(lr_run, sr_run, device, precision)
    pipeline = studio.pipeline
    lr_size, sr_size = pipeline.lr_size, pipeline.image_size
    page = (resources.files("sneakergan.serve") / "studio.html").read_text(encoding="utf-8")
    app = FastAPI(title="sneakergan studio", version=__version__,
                  description="Generate sneakers with a two-stage GAN: stage 1 makes 28x28 sneakers from noise, "
                              "stage 2 super-resolves them to 112x112. Sneaker i of a request for seed s is the "
                              "sneaker of seed s + i.")
    app.state.studio = studio
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts or LOOPBACK_HOSTS), www_redirect=False)
    app.add_middleware(SafetyHeaders)  # added last, so outermost: it also sees the Host check's 400

    @app.exception_handler(StudioTimeout)
    async def _timed_out(request, exc: StudioTimeout) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=504 if exc.started else 503,
                            headers=None if exc.started else {"Retry-After": RETRY_AFTER_S})

    @app.exception_handler(StudioBusy)
    async def _busy(request, exc: StudioBusy) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": RETRY_AFTER_S})

    @app.exception_handler(Abandoned)
    async def _abandoned(request, exc: Abandoned) -> JSONResponse:  # nobody reads it: the client left
        return JSONResponse({"detail": "the client closed the connection"}, status_code=499)

    def check_label(label: str | None, needed: bool = False) -> None:
        problem = studio.label_problem(label, needed)
        if problem:
            raise _invalid("label", label, problem)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def studio_page() -> HTMLResponse:
        return HTMLResponse(page, headers={"Content-Security-Policy": PAGE_POLICY})

    @app.get("/api/health", response_model=HealthOut, summary="the loaded models and the request limits")
    async def health() -> HealthOut:
        return HealthOut(version=__version__, device=str(pipeline.device), precision=pipeline.precision,
                         stage1=studio.stage1, stage2=studio.stage2, conditional=bool(pipeline.class_names),
                         condition=pipeline.cfg.condition, class_names=pipeline.class_names,
                         stochastic_details=pipeline.stochastic_details, lr_size=lr_size, sr_size=sr_size,
                         max_n=MAX_TILES, max_steps=MAX_STEPS, max_seed=MAX_PAGE_SEED,
                         timeout_s=timeout)

    @app.get("/api/generate", response_model=GenerateOut, responses=ERRORS,
             summary="n sneakers, one per seed: seed, seed + 1, ..., seed + n - 1")
    async def generate(request: Request, seed: Seed = 0, n: Annotated[int, Query(ge=1, le=MAX_TILES)] = 16,
                       stage: StageQuery = "sr", label: Label = None, sr_seed: SrSeed = 0) -> GenerateOut:
        if seed + n - 1 > MAX_PAGE_SEED:
            raise _invalid("seed", seed, f"seed + n - 1 must be at most {MAX_PAGE_SEED} (one seed per sneaker)")
        check_label(label)

        def work(should_stop) -> list[SneakerOut]:  # the PNGs too are made in the worker thread, off the event loop
            return [SneakerOut(seed=s.seed, png=png_base64(s.lr if s.sr is None else s.sr), lr_png=png_base64(s.lr))
                    for s in studio.sneakers(seed, n, stage, label, should_stop, sr_seed)]

        sneakers = await studio.run(work, timeout, request.is_disconnected)
        return GenerateOut(seed=seed, sr_seed=sr_seed, n=n, stage=stage, label=label, sneakers=sneakers,
                           size=sr_size if stage == "sr" else lr_size)

    @app.get("/api/interpolate", response_model=InterpolateOut, responses=ERRORS,
             summary="frames morphing from seed a's sneaker to seed b's (spherical interpolation)")
    async def interpolate(request: Request, a: Seed, b: Seed, steps: Annotated[int, Query(ge=2, le=MAX_STEPS)] = 8,
                          stage: StageQuery = "sr", label: Label = None) -> InterpolateOut:
        check_label(label, needed=True)

        def work(should_stop) -> list[str]:
            return [png_base64(frame) for frame in studio.morph([a, b], steps, stage, label, should_stop)]

        frames = await studio.run(work, timeout, request.is_disconnected)
        return InterpolateOut(seeds=[a, b], steps=steps, stage=stage, label=label, frames=frames,
                              size=sr_size if stage == "sr" else lr_size)

    return app
