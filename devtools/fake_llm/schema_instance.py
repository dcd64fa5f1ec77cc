"""A small valid instance of a JSON schema: what the fake LLM answers to a ``json_schema`` request that no rule of
its script answers (docs/fake-llm.md, "The default answer")."""

from __future__ import annotations

import math
from typing import Any

_FORMATS = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "00:00:00Z",
    "email": "ok@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "hostname": "example.com",
    "ipv4": "127.0.0.1",
    "duration": "P1D",
}
_MINIMAL_DEPTH = 24  # below this depth anyOf prefers a null branch (stops recursive Optional[...] models)
_MAX_DEPTH = 64


def _resolve_ref(root: Any, ref: str) -> Any:
    if not ref.startswith("#"):
        raise ValueError(f"only local $ref is supported, got {ref!r}")
    node = root
    for part in ref[1:].split("/"):
        if not part:
            continue
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _is_null_schema(schema: Any) -> bool:
    return isinstance(schema, dict) and (
        schema.get("type") == "null" or schema.get("const", 0) is None or schema.get("enum") == [None]
    )


def _number_instance(schema: dict, integer: bool) -> int | float:
    lo, hi = schema.get("minimum"), schema.get("maximum")
    xlo, xhi = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if xlo is True:  # draft 4 boolean form
        xlo, lo = lo, None
    if xhi is True:
        xhi, hi = hi, None
    if isinstance(xlo, bool):
        xlo = None
    if isinstance(xhi, bool):
        xhi = None
    if lo is not None:
        value = lo
    elif xlo is not None:
        value = math.floor(xlo) + 1 if integer else xlo + 1
    else:
        value = 1
    if hi is not None and value > hi:
        value = hi
    if xhi is not None and value >= xhi:
        below = lo if lo is not None else xlo
        if integer:
            value = math.ceil(xhi) - 1
        elif below is not None:
            value = (below + xhi) / 2
        else:
            value = xhi - 1
    if integer:
        value = math.ceil(value)
        step = schema.get("multipleOf")
        if isinstance(step, int) and step > 0 and value % step:
            value += step - value % step
        return int(value)
    return value


def _string_instance(schema: dict) -> str:
    text = _FORMATS.get(schema.get("format", ""), "ok")
    min_len, max_len = schema.get("minLength"), schema.get("maxLength")
    if isinstance(min_len, int) and len(text) < min_len:
        text += "k" * (min_len - len(text))
    if isinstance(max_len, int) and len(text) > max_len:
        text = text[:max_len]
    return text


def schema_instance(schema: Any, root: Any = None, depth: int = 0) -> Any:
    """A small valid instance of ``schema``: required properties in the schema's order, the first ``enum`` value
    or ``const``, ``"ok"`` for strings, ``minimum`` (or 1) for numbers, ``True`` for booleans, ``minItems`` items
    for arrays, the first non-null branch of ``anyOf`` / ``oneOf``, ``$ref`` resolved against the root."""
    if root is None:
        root = schema
    if schema is True or schema is None:
        return "ok"
    if schema is False or not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return None
    if "$ref" in schema:
        return schema_instance(_resolve_ref(root, schema["$ref"]), root, depth + 1)
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return next((v for v in enum if v is not None), enum[0])
    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, list) and branches:
            non_null = [b for b in branches if not _is_null_schema(b)]
            if depth >= _MINIMAL_DEPTH and len(non_null) < len(branches) or not non_null:
                return None
            return schema_instance(non_null[0], root, depth + 1)
    if isinstance(schema.get("allOf"), list):
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            while isinstance(part, dict) and "$ref" in part:
                part = _resolve_ref(root, part["$ref"])
            if not isinstance(part, dict):
                continue
            for k, v in part.items():
                if k == "properties":
                    merged["properties"] = {**merged.get("properties", {}), **v}
                elif k == "required":
                    merged["required"] = list(dict.fromkeys([*merged.get("required", []), *v]))
                else:
                    merged.setdefault(k, v)
        return schema_instance(merged, root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((t for t in kind if t != "null"), "null")
    if kind is None:
        if "properties" in schema or "required" in schema or "additionalProperties" in schema:
            kind = "object"
        elif "items" in schema or "prefixItems" in schema:
            kind = "array"
        elif any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")):
            kind = "number"
        else:
            kind = "string"
    if kind == "object":
        props = schema.get("properties") or {}
        required = schema.get("required") or []
        out = {}
        for name, sub in props.items():
            if name in required:
                out[name] = schema_instance(sub, root, depth + 1)
        extra = schema.get("additionalProperties")
        for name in required:
            if name not in out:
                out[name] = schema_instance(extra if isinstance(extra, dict) else True, root, depth + 1)
        return out
    if kind == "array":
        count = schema.get("minItems") or 0
        prefix = schema.get("prefixItems") or []
        items = schema.get("items", True)
        out_list = [schema_instance(p, root, depth + 1) for p in prefix[:count]]
        while len(out_list) < count:
            out_list.append(schema_instance(items, root, depth + 1))
        return out_list
    if kind == "string":
        return _string_instance(schema)
    if kind == "integer":
        return _number_instance(schema, True)
    if kind == "number":
        return _number_instance(schema, False)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return "ok"
