"""How the server process runs: interpreter settings for a long-running ``barraiser serve`` (the garbage
collector), applied once the app is built and before uvicorn starts; and the app factory of each worker process of
``barraiser serve --workers N``."""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

_GC_GEN0_THRESHOLD = 20_000  # allocations between first-generation collections (CPython's default is 700)


def tune_gc_for_serving() -> None:
    """Make the cyclic garbage collector cheap for a long-running server (``barraiser bench``: GC was ~20% of the
    server's CPU). ``freeze`` moves everything alive after startup (modules, the content catalog) out of the
    collector's sight, so full collections stop rescanning it; a higher first-generation threshold lets the many
    short-lived containers of a turn, which reference counting frees anyway, trigger far fewer collections."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(_GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])


def worker_app() -> FastAPI:
    """One worker's app, from the environment's settings (uvicorn calls this in each worker process)."""
    from app.server.app import create_app

    application = create_app()
    tune_gc_for_serving()
    return application
