"""The soak (devtools/soak.py, issue 10 items 5 and 7), a small run: sessions are created throughout while other
sessions answer and the checkpoint writer commits; 0 HTTP 500s (session creation used to fail with "database is
locked" under the writer's load), every answer confirmed, RSS and bytes per turn reported. The full run
(200 sessions, 2-10 s think time, 5 minutes) is `python -m devtools.soak`."""

from __future__ import annotations

from devtools.soak import soak


def test_a_small_soak_creates_sessions_throughout_with_no_500():
    report = soak(sessions=30, duration_s=12, think=(0.05, 0.4))
    print(f"[soak] {report}")
    assert report["http_500"] == 0 and set(report["http"]) == {201}, report
    assert report["turns"] > 30 and report["answers_confirmed"] >= report["turns"] - 30, report
    assert not {k: v for k, v in report["ws_errors"].items()}, report
    assert report["db_bytes_per_turn"] and report["server_rss_peak_mb"] > 0
