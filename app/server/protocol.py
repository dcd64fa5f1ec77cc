"""Typed WebSocket frames (documented in docs/protocol.md). Client frames are validated here; server frames
are plain dicts produced by the graph's nodes and by ws.py, with the ``type`` values listed below."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

SERVER_FRAME_TYPES = ("state", "interviewer_delta", "interviewer_done", "turn_grade", "debrief", "error")


class AnswerFrame(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["answer"]
    text: str


class ControlFrame(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["control"]
    action: Literal["end"]


ClientFrame = Annotated[AnswerFrame | ControlFrame, Field(discriminator="type")]
client_frame = TypeAdapter(ClientFrame)
CLIENT_FRAME_TYPES = ("answer", "control")


def error_frame(code: str, message: str) -> dict:
    return {"type": "error", "code": code, "message": message}
