"""The handlers behind ``barraiser eval``, ``barraiser regrade`` and ``barraiser export``.

Exit codes: 0 all checks and thresholds pass; 1 a check or a threshold failed; 2 the run could not start
(scenario load errors, bad config, unknown session, brain unavailable).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from app.config import Settings
from app.content.catalog import Catalog
from app.core.ports import Brain
from app.evaluation.defaults import DEFAULT_CONCURRENCY, DEFAULT_CONFIG, DEFAULT_EVALS_DIR
from app.evaluation.report import ConfigError, Report, build_report, load_config, render
from app.evaluation.runner import Runner, ScenarioResult
from app.evaluation.scenarios import Case, ScenarioError, load_cases


class EvalSetupError(Exception):
    """The brain a run asked for cannot be set up (bad flags, or the brain is unavailable)."""


def _err(msg: str) -> None:
    print(msg, file=sys.stderr)


def default_paths(brain: str) -> list[Path]:
    """With no PATH: the replay suite (``evals/replay``) for ``--brain replay``, else every other scenario folder
    of ``evals/`` (``scenarios/``, ``holdout/``, ...)."""
    root = Path("evals") if Path("evals").is_dir() else DEFAULT_EVALS_DIR
    if brain == "replay":
        return [root / "replay"]
    return [p for p in sorted(root.iterdir()) if p.is_dir() and p.name not in ("replay", "cassettes")]


def default_cassettes(brain: str) -> str | None:
    root = Path("evals") if Path("evals").is_dir() else DEFAULT_EVALS_DIR
    return str(root / "cassettes") if brain == "replay" and (root / "cassettes").is_dir() else None


def make_eval_brain(settings: Settings, name: str, cassettes: str | None = None, record: str | None = None) -> Brain:
    """``offline``: the rules brain. ``llm``: the LLM brain on the configured endpoint, live (recording every
    call into cassettes under ``record`` when given). ``replay``: the LLM brain fed from the cassettes in
    ``cassettes`` (a missing call is an error naming the scenario and turn, never a live call). Whatever
    ``app.brains.make_brain`` raises becomes a clear error: the runner never falls back to another brain."""
    if name == "offline":
        if cassettes or record:
            raise EvalSetupError("--cassettes and --record need --brain replay / --brain llm")
        from app import brains

        return brains.make_brain(settings.model_copy(update={"brain": "offline", "stream_delay_ms": 0}))
    if name == "replay" and not cassettes:
        raise EvalSetupError(
            "--brain replay needs --cassettes DIR (recorded with `barraiser eval --brain llm --record "
            "DIR`, or `barraiser serve --record DIR` then `barraiser export ... --cassettes DIR`)"
        )
    if name == "replay" and record:
        raise EvalSetupError("--record records live calls: use it with --brain llm, not replay")
    if name == "llm" and cassettes:
        raise EvalSetupError("--cassettes replays recorded calls: use it with --brain replay")
    try:
        from app import brains

        if name == "replay":
            return brains.make_brain(settings, mode="replay", cassettes=Path(cassettes or ""))
        update: dict[str, Any] = {"brain": "llm"}
        if record:
            update["record_dir"] = Path(record)
        return brains.make_brain(settings.model_copy(update=update), mode="live")
    except Exception as exc:  # the LLM brain may be unavailable or misconfigured: say so, never fall back
        raise EvalSetupError(f"cannot start the {name} brain: {exc}") from exc


def _catalog(settings: Settings) -> Catalog | None:
    from app.content.catalog import ContentError, load_catalog

    try:
        return load_catalog(settings.rubrics_dir, settings.prompts_dir)
    except ContentError as exc:
        _err("The interview content does not validate:\n" + str(exc))
        return None


def _settings_of(args: argparse.Namespace) -> tuple[dict | None, dict]:
    """(config, thresholds with the flags applied); config None on a config error (already reported)."""
    path = Path(args.config) if args.config else DEFAULT_CONFIG
    if args.config and not path.exists():
        _err(f"{path}: no such config file")
        return None, {}
    try:
        config = load_config(path)
    except ConfigError as exc:
        _err(str(exc))
        return None, {}
    thresholds = dict(config["thresholds"])
    for key in thresholds:
        value = getattr(args, key, None)
        if value is not None:
            thresholds[key] = value
    return config, thresholds


async def _run(
    brain: Brain, catalog: Catalog, cases: list[Case], repeat: int, concurrency: int
) -> list[ScenarioResult]:
    runner = Runner(brain, catalog, concurrency=concurrency)
    try:
        return await runner.run(cases, repeat=repeat)
    finally:
        await brain.aclose()


def _write_json(report: Report, path: str | None) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(report.data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _execute(
    args: argparse.Namespace,
    settings: Settings,
    catalog: Catalog,
    cases: list[Case],
    config: dict[str, Any],
    thresholds: dict[str, Any],
    repeat: int = 1,
    baseline: dict[str, Any] | None = None,
) -> int:
    try:
        brain = make_eval_brain(settings, args.brain, args.cassettes or default_cassettes(args.brain), args.record)
    except EvalSetupError as exc:
        _err(str(exc))
        return 2
    concurrency = args.concurrency or config.get("concurrency") or DEFAULT_CONCURRENCY
    started = time.perf_counter()
    results = asyncio.run(_run(brain, catalog, cases, repeat, concurrency))
    report = build_report(results, args.brain, time.perf_counter() - started, thresholds)
    if baseline is not None:
        from app.evaluation.baseline import compare

        report.data["baseline"] = compare(report.data, baseline, args.baseline)
    print(render(report))
    _write_json(report, args.json)
    return 0 if report.passed else 1


def run_eval(args: argparse.Namespace, settings: Settings) -> int:
    config, thresholds = _settings_of(args)
    if config is None:
        return 2
    catalog = _catalog(settings)
    if catalog is None:
        return 2
    if args.repeat < 1:
        _err("--repeat must be at least 1")
        return 2
    paths = [Path(p) for p in args.paths] or default_paths(args.brain)
    try:
        cases = load_cases(paths, catalog)
    except ScenarioError as exc:
        for problem in exc.problems:
            _err(str(problem))
        _err(f"{len(exc.problems)} scenario problem(s)")
        return 2
    baseline = None
    if args.baseline:
        from app.evaluation.baseline import BaselineError, load_baseline

        try:
            baseline = load_baseline(Path(args.baseline))
        except BaselineError as exc:
            _err(str(exc))
            return 2
    if args.repeat > 1 and args.brain == "replay":
        _err("--repeat needs --brain llm: a replay has one recording per scenario")
        return 2
    if args.repeat > 1 and args.brain == "offline":
        print(
            f"note: the offline brain is deterministic; --repeat {args.repeat} runs identical rounds", file=sys.stderr
        )
    return _execute(args, settings, catalog, cases, config, thresholds, args.repeat, baseline)


def run_regrade(args: argparse.Namespace, settings: Settings) -> int:
    """Regrade: stored grades are golden; exit 1 only when a grade threshold fails (reply-move drift is shown
    as failed checks but, since a different brain or a changed rubric may legitimately change replies, it does
    not fail the command)."""
    from app.evaluation.sessions import SessionError, case_from_export, case_from_state, load_sessions

    config, thresholds = _settings_of(args)
    if config is None:
        return 2
    catalog = _catalog(settings)
    if catalog is None:
        return 2
    cases: list[Case] = []
    try:
        for f in args.exports:
            cases.append(case_from_export(Path(f), catalog))
        if args.session_ids or not args.exports:
            stored = asyncio.run(load_sessions(settings.database_url, list(args.session_ids)))
            cases += [case_from_state(sid, session.values, catalog) for sid, session in stored.items()]
    except SessionError as exc:
        _err(str(exc))
        return 2
    if not cases:
        _err("no sessions to regrade")
        return 2
    try:
        brain = make_eval_brain(settings, args.brain, args.cassettes, args.record)
    except EvalSetupError as exc:
        _err(str(exc))
        return 2
    started = time.perf_counter()
    results = asyncio.run(
        _run(brain, catalog, cases, 1, args.concurrency or config.get("concurrency") or DEFAULT_CONCURRENCY)
    )
    report = build_report(results, args.brain, time.perf_counter() - started, thresholds)
    report.data["mode"] = "regrade"
    print(render(report))
    print(
        "(regrade: golden = the stored grade; a failed `expect.move` check is a reply that differs from the "
        "stored session)"
    )
    _write_json(report, args.json)
    thresholds_ok = all(
        t["passed"] is not False for t in report.data["thresholds"] + report.data["holdout"]["thresholds"]
    )
    return 0 if thresholds_ok else 1


def run_export(args: argparse.Namespace, settings: Settings) -> int:
    from app.evaluation.export import scenario_yaml
    from app.evaluation.sessions import SessionError, load_sessions

    out = Path(args.scenario)
    if out.exists() and not args.force:
        _err(f"{out} exists; pass --force to overwrite it")
        return 2
    try:
        session = asyncio.run(load_sessions(settings.database_url, [args.session_id]))[args.session_id]
    except SessionError as exc:
        _err(str(exc))
        return 2
    values = session.values
    if not any(t.get("role") == "candidate" for t in values.get("turns", [])):
        _err(f"session {args.session_id} has no candidate turns to export")
        return 2
    text = scenario_yaml(args.session_id, values, brain=session.record.brain if session.record else "")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    catalog = _catalog(settings)
    if catalog is not None:
        try:
            load_cases([out], catalog)
        except ScenarioError as exc:  # pragma: no cover - the writer and the loader disagree: a bug
            _err("the exported scenario does not load:\n" + str(exc))
            return 1
    print(f"wrote {out} (id session-{args.session_id[:8]}); review its golden grades before committing it")
    if args.cassettes:
        from app.evaluation.export import copy_cassette

        try:
            print(f"wrote {copy_cassette(Path(args.cassettes), args.session_id, f'session-{args.session_id[:8]}')}")
        except OSError as exc:
            _err(f"cannot copy the session's cassette: {exc}")
            return 2
    return 0
