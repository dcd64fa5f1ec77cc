"""Where the eval suite lives and what a run uses when nothing says otherwise."""

from __future__ import annotations

from app.config import PROJECT_ROOT

DEFAULT_EVALS_DIR = PROJECT_ROOT / "evals"
DEFAULT_CONFIG = DEFAULT_EVALS_DIR / "config.yaml"
DEFAULT_CONCURRENCY = 8  # scenarios run at once
