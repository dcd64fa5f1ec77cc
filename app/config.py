"""Settings: the one place where Bar Raiser reads its configuration.

Every setting is an environment variable with the ``BARRAISER_`` prefix (or a line in ``.env``).
The README's configuration table lists them; keep the two in step.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]

BrainName = Literal["offline", "llm"]


class Settings(BaseSettings):
    """Runtime configuration, validated at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="BARRAISER_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    # Where things live
    database_url: str = Field(
        "sqlite:///./data/barraiser.db",
        description="Checkpoints, sessions and transcripts. sqlite:///relative/path or sqlite:////absolute/path.",
    )
    rubrics_dir: Path = Field(PROJECT_ROOT / "rubrics", description="Rounds, questions, principles (YAML).")
    prompts_dir: Path = Field(PROJECT_ROOT / "prompts", description="Prompt and spoken-line templates.")
    frontend_dir: Path = Field(PROJECT_ROOT / "frontend", description="Static files of the web page.")

    # Which interviewer brain drives the round
    brain: BrainName = Field("offline", description="offline (rules, no model) or llm.")

    # Serving
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)

    # Limits
    max_answer_chars: int = Field(8000, ge=1, description="Longest candidate answer accepted, in characters.")
    max_frame_bytes: int = Field(65536, ge=1024, description="Largest WebSocket frame accepted, in bytes.")
    idle_timeout_s: float = Field(
        1800.0, gt=0, description="A WebSocket with no client frame for this long is closed (the session is kept)."
    )
    max_frames_per_minute: int = Field(120, ge=1, description="Client frames per minute per connection.")
    max_sessions_per_minute: int = Field(30, ge=1, description="New sessions per minute per client address.")

    # Round pacing (the offline brain and the graph's rules read these)
    stream_delay_ms: float = Field(
        0.0, ge=0, description="Pause between streamed words of the offline brain (0 = as fast as possible)."
    )

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith("sqlite:///"):
            raise ValueError(
                "BARRAISER_DATABASE_URL must start with sqlite:/// (e.g. sqlite:///./data/barraiser.db); "
                f"got {value!r}"
            )
        return value

    @property
    def sqlite_path(self) -> str:
        """The filesystem path of the SQLite database (``:memory:`` allowed)."""
        return self.database_url.removeprefix("sqlite:///")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own ``Settings`` instead)."""
    return Settings()
