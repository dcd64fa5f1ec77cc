"""The pad of one connection (app/server/pads.py): shown for a SQL or Python question, hidden again for a question
without code outside the coding and assessment rounds, kept per question."""

from __future__ import annotations

from pathlib import Path

import aiosqlite

from app.config import Settings
from app.content.catalog import Catalog
from app.core.frames import Frame
from app.sandbox import make_runner
from app.server.pads import PadChannel
from app.server.protocol import PadFrame, PadStateFrame
from app.store.pads import PadStore
from app.store.tables import SqliteTables


async def test_the_pad_follows_the_question(catalog: Catalog, tmp_path: Path) -> None:
    sent: list[Frame] = []

    async def send(frame: Frame) -> None:
        sent.append(frame)

    async with aiosqlite.connect(tmp_path / "pads.db") as conn:
        store = PadStore(SqliteTables(conn))
        await store.setup()
        runner = make_runner(Settings(_env_file=None))
        pad = PadChannel("s1", "phone_screen", catalog.questions, runner, store, send, 10, 1000)
        await pad.show("sql-second-highest-salary")
        await pad.save(PadFrame(type="pad", code="SELECT 1", language="sql"))
        await pad.show("sql-second-highest-salary")  # the same question: nothing new
        await pad.show("ml-bias-variance")  # no code here: the pad goes away
        await pad.show("ml-l1-vs-l2")  # still none: nothing more is sent
        await pad.show("sql-second-highest-salary")  # back: the saved code comes with it
        frames = [f for f in sent if isinstance(f, PadStateFrame)]
        assert [(f.question_id, f.shown) for f in frames] == [
            ("sql-second-highest-salary", True),
            ("ml-bias-variance", False),
            ("sql-second-highest-salary", True),
        ]
        assert frames[0].code == "" and frames[2].code == "SELECT 1"
        assert frames[0].tables and frames[0].tables[0]["name"] == "employees"
