"""The fake LLM's script: its documented shape (docs/fake-llm.md), checked with messages that say where a script is
wrong, normalised for the request path, and read from a YAML or JSON file."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

MATCH_KEYS = {
    "model": str,
    "schema": str,
    "json_mode": bool,
    "stream": bool,
    "system_contains": str,
    "last_user_contains": str,
}
RULE_KEYS = {"match", "times", "ttft_ms", "tokens_per_s", "fault", "respond"}
FAULT_KEYS = {"status", "retry_after_s", "message", "hang_s", "malformed_json", "truncate", "disconnect"}
RESPOND_KEYS = {"json", "content"}
DEFAULTS_KEYS = {"ttft_ms", "tokens_per_s"}


class ScriptError(ValueError):
    """The script does not have the documented shape; the message says where."""


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or not math.isfinite(value):
        raise ScriptError(f"{where}: must be a finite number >= 0, got {value!r}")
    return float(value)


def _check_keys(obj: Any, allowed: set[str], where: str) -> dict:
    if not isinstance(obj, dict):
        raise ScriptError(f"{where}: must be a mapping, got {type(obj).__name__}")
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise ScriptError(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")
    return obj


def validate_script(script: Any) -> dict:
    """Check a script and return a normalised copy: ``{"defaults": {...}, "rules": [...]}``. Each rule gets its
    response content pre-serialised under ``_content`` (so the request path does no ``json.dumps`` of it)."""
    if script is None:
        script = {}
    _check_keys(script, {"defaults", "rules"}, "script")
    defaults = _check_keys(script.get("defaults") or {}, DEFAULTS_KEYS, "defaults")
    out_defaults = {k: _number(v, f"defaults.{k}") for k, v in defaults.items() if v is not None}
    rules = script.get("rules") or []
    if not isinstance(rules, list):
        raise ScriptError("rules: must be a list")
    out_rules = []
    for i, rule in enumerate(rules):
        where = f"rules[{i}]"
        _check_keys(rule, RULE_KEYS, where)
        match = _check_keys(rule.get("match") or {}, set(MATCH_KEYS), f"{where}.match")
        for key, value in match.items():
            if not isinstance(value, MATCH_KEYS[key]):
                raise ScriptError(f"{where}.match.{key}: must be a {MATCH_KEYS[key].__name__}, got {value!r}")
        norm: dict[str, Any] = {"match": dict(match)}
        if rule.get("times") is not None:
            times = rule["times"]
            if isinstance(times, bool) or not isinstance(times, int) or times < 0:
                raise ScriptError(f"{where}.times: must be an integer >= 0, got {times!r}")
            norm["times"] = times
        for key in ("ttft_ms", "tokens_per_s"):
            if rule.get(key) is not None:
                norm[key] = _number(rule[key], f"{where}.{key}")
        if rule.get("fault") is not None:
            fault = dict(_check_keys(rule["fault"], FAULT_KEYS, f"{where}.fault"))
            if not fault:
                raise ScriptError(f"{where}.fault: empty")
            if "status" in fault:
                status = fault["status"]
                if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
                    raise ScriptError(f"{where}.fault.status: must be an HTTP error status 400..599, got {status!r}")
            for key in ("retry_after_s", "hang_s"):
                if key in fault:
                    fault[key] = _number(fault[key], f"{where}.fault.{key}")
            for key in ("malformed_json", "truncate", "disconnect"):
                if key in fault and not isinstance(fault[key], bool):
                    raise ScriptError(f"{where}.fault.{key}: must be true or false")
            if "message" in fault and not isinstance(fault["message"], str):
                raise ScriptError(f"{where}.fault.message: must be a string")
            norm["fault"] = fault
        if rule.get("respond") is not None:
            respond = _check_keys(rule["respond"], RESPOND_KEYS, f"{where}.respond")
            if "json" in respond:
                if "content" in respond:
                    raise ScriptError(f"{where}.respond: give either json or content, not both")
                norm["_content"] = json.dumps(respond["json"], ensure_ascii=False)
            elif "content" in respond:
                if not isinstance(respond["content"], str):
                    raise ScriptError(f"{where}.respond.content: must be a string")
                norm["_content"] = respond["content"]
            else:
                raise ScriptError(f"{where}.respond: needs json or content")
            norm["respond"] = dict(respond)
        out_rules.append(norm)
    return {"defaults": out_defaults, "rules": out_rules}


def load_script_file(path: str | Path) -> dict:
    """Read a script from a ``.json`` file or a YAML file (any other extension)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # json.JSONDecodeError, yaml.YAMLError
        raise ScriptError(f"{path}: {exc}") from exc
    return validate_script(data)


def public_script(script: dict) -> dict:
    """A validated script as served by ``GET /_fake/script``: without the pre-serialised ``_`` keys."""
    rules = [{k: v for k, v in rule.items() if not k.startswith("_")} for rule in script["rules"]]
    return {"defaults": script["defaults"], "rules": rules}


def interviewer_turn(move: str, utterance: str, rationale: str = "scripted", **fields: Any) -> dict:
    """A scripted ``InterviewerTurn`` response: the move, the head fields (``principle``, ``key_point``,
    ``star_part``, ``failure_mode``, ``quote``; null unless given), the utterance, then the tail, in the order the
    LLM brain streams them (the bench times the utterance's first byte from that order)."""
    head = {k: fields.get(k) for k in ("principle", "key_point", "star_part", "failure_mode", "quote")}
    return {"move": move, **head, "utterance": utterance, "covered": [], "rationale": rationale}
