"""Incremental parsing of a streamed JSON object whose last field is the text to speak.

The interviewer's reply is one structured response: the move fields come first, then ``utterance``. As chunks
arrive, :class:`UtteranceStream` reports the move fields as soon as they are complete (so the graph can check them
before a word is spoken) and then yields the utterance text piece by piece, decoding JSON string escapes across
chunk boundaries. If a model puts ``utterance`` before the move fields, nothing is spoken until the object is
complete (correct, just slower).
"""

from __future__ import annotations

import json
import re

_KEY = re.compile(r'"utterance"\s*:\s*"')
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class UtteranceStream:
    """Feed raw content chunks; read ``head`` (the fields before the utterance) and utterance deltas."""

    def __init__(self, field: str = "utterance"):
        self._key = _KEY if field == "utterance" else re.compile(rf'"{re.escape(field)}"\s*:\s*"')
        self.raw = ""
        self.head: dict | None = None  # fields before the utterance, once complete
        self._pos: int | None = None  # where the utterance string's content starts / continues
        self._text: list[str] = []
        self.closed = False  # the utterance string is complete

    def feed(self, chunk: str) -> str:
        """Add a chunk; return the new utterance text it completes (maybe empty)."""
        self.raw += chunk
        if self._pos is None:
            m = self._key.search(self.raw)
            if not m:
                return ""
            prefix = self.raw[: m.start()].rstrip().rstrip(",")
            try:
                self.head = json.loads(prefix + "}", strict=False) if prefix.strip() != "{" else {}
            except json.JSONDecodeError:
                self.head = None  # the key appeared inside another value, or the prefix is odd: wait for the end
                return ""
            self._pos = m.end()
        if self.closed:
            return ""
        return self._advance()

    def _advance(self) -> str:
        out: list[str] = []
        assert self._pos is not None, "called once the utterance's key is found"
        i, raw = self._pos, self.raw
        while i < len(raw):
            ch = raw[i]
            if ch == '"':
                self.closed = True
                i += 1
                break
            if ch == "\\":
                if i + 1 >= len(raw):
                    break  # escape split across chunks
                nxt = raw[i + 1]
                if nxt == "u":
                    if i + 6 > len(raw):
                        break
                    code = int(raw[i + 2 : i + 6], 16)
                    if 0xD800 <= code < 0xDC00:  # surrogate pair
                        if i + 12 > len(raw):
                            break
                        low = int(raw[i + 8 : i + 12], 16)
                        out.append(chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)))
                        i += 12
                        continue
                    out.append(chr(code))
                    i += 6
                    continue
                out.append(_ESCAPES.get(nxt, nxt))
                i += 2
                continue
            out.append(ch)
            i += 1
        self._pos = i
        text = "".join(out)
        self._text.append(text)
        return text

    @property
    def streamed(self) -> str:
        """The utterance text yielded so far."""
        return "".join(self._text)

    def final(self) -> dict:
        """The complete object (raises ``json.JSONDecodeError`` if the stream ended early or is malformed)."""
        return json.loads(self.raw, strict=False)  # small models put raw newlines inside strings
