"""Settings: the one place where Bar Raiser reads its configuration.

Every setting is an environment variable with the ``BARRAISER_`` prefix (or a line in ``.env``).
The README's configuration table lists them; keep the two in step.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
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
        populate_by_name=True,
    )

    # Where things live
    database_url: str = Field(
        "sqlite:///./data/barraiser.db",
        description="Checkpoints, sessions and transcripts: sqlite:///relative/path, sqlite:////absolute/path, or "
        "postgresql://user:password@host:port/dbname (needed for several workers).",
    )
    database_pool_size: int = Field(
        10, ge=1, le=1000, description="PostgreSQL: most connections each server process opens to the database."
    )
    owner_takeover_s: float = Field(
        10.0,
        gt=0,
        description="Several workers: how long a socket waits for the worker that holds its session to let go "
        "before it is refused with session_busy.",
    )
    prune_checkpoints: bool = Field(
        True,
        description="Delete superseded checkpoints, keeping the one at every interviewer turn (replay, re-answer) "
        "and the newest; false keeps every checkpoint.",
    )
    rubrics_dir: Path = Field(PROJECT_ROOT / "rubrics", description="Rounds, questions, principles (YAML).")
    prompts_dir: Path = Field(PROJECT_ROOT / "prompts", description="Prompt and spoken-line templates.")
    frontend_dir: Path = Field(PROJECT_ROOT / "frontend", description="Static files of the web page.")

    # Which interviewer brain drives the round
    brain: BrainName | None = Field(
        None, description="offline (rules, no model) or llm; default: llm when an endpoint is configured, else offline."
    )

    # The LLM brain: any OpenAI-compatible endpoint
    llm_base_url: str | None = Field(
        None,
        validation_alias=AliasChoices("BARRAISER_LLM_BASE_URL", "OPENAI_BASE_URL"),
        description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1 (falls back to OPENAI_BASE_URL).",
    )
    llm_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("BARRAISER_LLM_API_KEY", "OPENAI_API_KEY"),
        description="API key (falls back to OPENAI_API_KEY); local servers accept any value.",
    )
    llm_model: str = Field("gpt-4o-mini", description="The interviewer model.")
    grader_model: str | None = Field(None, description="The grading model (default: llm_model).")
    llm_timeout_s: float = Field(30.0, gt=0, description="Timeout of one LLM request, in seconds.")
    llm_max_retries: int = Field(2, ge=0, le=10, description="Retries on timeouts, 429 and 5xx (backoff with jitter).")
    llm_history_turns: int = Field(
        8,
        ge=2,
        description="Turns of the current question always quoted verbatim; older ones are summarised a chunk at a "
        "time, so between summaries the conversation only grows at its end (provider caching) and stays bounded.",
    )
    llm_history_chunk_turns: int = Field(
        12,
        ge=2,
        le=64,
        description="Turns summarised at once when the verbatim part reaches history + chunk turns (rounded up to "
        "an even number: a chunk is whole exchanges).",
    )
    llm_grade_samples: int = Field(
        1,
        ge=1,
        le=9,
        description="Grade every answer this many times (k); the median is kept, the spread shown, and the grade "
        "abstains when the samples are more than one level apart.",
    )
    llm_grade_temperature: float = Field(
        0.7, ge=0, le=2, description="Sampling temperature of the grader when llm_grade_samples > 1 (k = 1: 0)."
    )
    llm_grade_waits_for_reply_s: float = Field(
        2.0,
        ge=0,
        description="When the grader is the interviewer model, the grade waits up to this long for the reply's first "
        "bytes (its prompt is then cached for the grade, which shares it); past that, or when there is no reply "
        "(a grade re-run after a restart), it goes at once.",
    )
    llm_check_words: bool = Field(
        True,
        description="Check each sentence the LLM interviewer says before it goes out (a leak of an uncovered key "
        "point's claim, or a line already said): regenerated once, else cut to a safe bank line. Holds the first "
        "words back until the first sentence is complete.",
    )
    llm_max_output_tokens: int = Field(700, ge=64, description="Upper bound on tokens per LLM response.")
    llm_stream_read_interval_ms: float = Field(
        50.0,
        ge=0,
        le=500,
        description="Once the interviewer's first words are out, read the model's stream at most this often: what "
        "arrives meanwhile goes out as one frame (0 = every chunk as it lands).",
    )
    record_dir: Path | None = Field(None, description="Write every LLM request/response to cassettes here.")
    recent_sessions_window: int = Field(
        5, ge=0, description="Questions asked in this many recent sessions of the same browser are not asked again."
    )

    # Serving
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)

    # Limits
    max_answer_chars: int = Field(8000, ge=1, description="Longest candidate answer accepted, in characters.")
    max_frame_bytes: int = Field(65536, ge=1024, description="Largest WebSocket frame accepted, in bytes.")
    idle_timeout_s: float = Field(
        1800.0, gt=0, description="A WebSocket with no client frame for this long is closed (the session is kept)."
    )
    max_frames_per_minute: int = Field(
        120, ge=1, description="Client frames per minute per session (its token), over all its connections."
    )
    max_sessions_per_minute: int = Field(30, ge=1, description="New sessions per minute per client address.")
    max_body_bytes: int = Field(65536, ge=1024, description="Largest HTTP request body accepted (413 above).")
    trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses of reverse proxies whose X-Forwarded-For is believed (the client "
        "address for rate limits); empty: the header is ignored.",
    )
    allowed_origins: str = Field(
        "",
        description="Comma-separated extra origins (scheme://host[:port]) allowed to open the interview WebSocket; "
        "the page's own origin always is.",
    )

    # Running the candidate's code (app/sandbox/): switch it off on a hosted deployment
    code_execution: Literal["on", "off"] = Field(
        "on", description="Run the candidate's SQL and Python in the sandbox (off: the round says nothing runs)."
    )
    code_sandbox: Literal["auto", "bwrap", "unshare", "rlimits"] = Field(
        "auto",
        description="How Python runs are isolated: auto picks bwrap, then unshare, then rlimits only (the fallback).",
    )
    code_timeout_s: float = Field(5.0, gt=0, le=60, description="Wall-clock limit of one Python run, in seconds.")
    code_cpu_s: int = Field(4, ge=1, le=60, description="CPU-time limit of one Python run, in seconds.")
    code_memory_mb: int = Field(768, ge=64, description="Address-space limit of one Python run, in MiB.")
    code_max_processes: int = Field(16, ge=1, description="Processes and threads one Python run may have.")
    code_file_size_kb: int = Field(1024, ge=1, description="Largest file one Python run may write, in KiB.")
    code_max_output_chars: int = Field(8000, ge=100, description="stdout / stderr kept from one Python run.")
    code_max_chars: int = Field(20000, ge=100, description="Longest code accepted for a run, in characters.")
    sql_timeout_ms: int = Field(2000, ge=10, description="Time limit of one SQL run, in milliseconds.")
    sql_max_rows: int = Field(5000, ge=1, description="Rows one SQL query may return before it is refused.")
    code_runs_per_minute: int = Field(20, ge=1, description="Runs from the pad per minute per connection.")

    # Round pacing (read by the offline brain)
    stream_delay_ms: float = Field(
        0.0, ge=0, description="Pause between streamed words of the offline brain (0 = as fast as possible)."
    )

    # Voice (app/voice, app/server/voice.py, docs/protocol.md "Voice")
    voice_enabled: bool = Field(True, description="Offer voice mode (the models load on first use).")
    voice_preload: bool = Field(False, description="Load the voice models when the server starts, not on first use.")
    voice_stt: Literal["local", "openai"] = Field(
        "local",
        description="local: faster-whisper with the bundled tiny.en; openai: an /audio/transcriptions endpoint.",
    )
    voice_stt_model_dir: Path | None = Field(
        None, description="A CTranslate2 Whisper model directory instead of the bundled tiny.en."
    )
    voice_stt_trim_window: bool = Field(
        True, description="Encode only the utterance (+0.5 s), not Whisper's 30 s window: 3-6x faster, off-label."
    )
    voice_stt_threads: int = Field(1, ge=1, le=16, description="CPU threads of the local recogniser.")
    voice_stt_base_url: str | None = Field(None, description="OpenAI-compatible endpoint for voice_stt=openai.")
    voice_stt_api_key: SecretStr | None = None
    voice_stt_model: str = Field("whisper-1", description="Model name for voice_stt=openai.")
    voice_tts: Literal["hibari", "piper", "openai"] = Field(
        "hibari",
        description="hibari (Apache-2.0, default), piper (GPL-3.0-or-later, optional extra), or an /audio/speech endpoint.",
    )
    voice_tts_base_url: str | None = Field(None, description="OpenAI-compatible endpoint for voice_tts=openai.")
    voice_tts_api_key: SecretStr | None = None
    voice_tts_model: str = Field("gpt-4o-mini-tts", description="Model name for voice_tts=openai.")
    voice_tts_voice: str = Field("alloy", description="Voice name for voice_tts=openai.")
    voice_silence_ms: float = Field(500.0, ge=100, le=5000, description="Silence that ends a finished sentence.")
    voice_speculate_ms: float = Field(
        200.0, ge=0, le=2000, description="Silence after which the turn so far is transcribed speculatively."
    )
    voice_unfinished_grace_ms: float = Field(
        3500.0, ge=0, le=20000, description="Silence allowed when the sentence is unfinished ('...because the')."
    )
    voice_early_grace_ms: float = Field(
        1200.0, ge=0, le=20000, description="Silence allowed while the candidate has only just started answering."
    )
    voice_resume_window_ms: float = Field(
        2500.0, ge=0, le=10000, description="Speech this soon after a turn ended takes it back and continues it."
    )
    voice_interject_after_s: float = Field(
        180.0, ge=0, description="After this much talk the interviewer steps in at the next pause (0 = never)."
    )
    voice_min_confidence: float = Field(
        0.5, ge=0, le=1, description="Transcriptions less confident than this are stored but not graded."
    )
    voice_max_turn_s: float = Field(300.0, ge=5, description="A spoken turn is ended after this long.")
    voice_max_audio_frame_bytes: int = Field(
        32000, ge=1024, description="Largest binary audio frame from the page (32000 = 1 s of 16 kHz int16)."
    )
    voice_store_audio: bool = Field(True, description="Keep each spoken answer's recording (for the replay).")
    voice_audio_dir: Path = Field(Path("./data/audio"), description="Where the recordings are kept.")
    voice_max_audio_mb: float = Field(
        10.0, ge=0, description="A recording larger than this is not kept (10 MB = about 5 minutes)."
    )

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError(
                "BARRAISER_DATABASE_URL must start with sqlite:/// (e.g. sqlite:///./data/barraiser.db) or "
                f"postgresql:// (e.g. postgresql://bar:secret@127.0.0.1:5432/barraiser); got {value!r}"
            )
        return value

    @model_validator(mode="after")
    def _default_brain(self) -> Settings:
        if self.brain is None:
            self.brain = "llm" if self.llm_base_url else "offline"
        if self.grader_model is None:
            self.grader_model = self.llm_model
        return self

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]

    @property
    def allowed_origin_list(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()]

    @property
    def sqlite_path(self) -> str:
        """The filesystem path of the SQLite database (``:memory:`` allowed)."""
        return self.database_url.removeprefix("sqlite:///")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own ``Settings`` instead)."""
    return Settings()
