"""``barraiser bench --voice``: a tiny run against the real server with the real voice models completes, reports
its figures and leaves no child process behind. (A benchmark, not a timed test: no latency thresholds here; the
numbers are in docs/performance.md.)"""

from __future__ import annotations

import argparse
import json

from devtools.bench.cli import add_cli


def test_tiny_voice_bench_reports_and_cleans_up(capsys):
    parser = argparse.ArgumentParser(prog="barraiser")
    add_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(
        [
            "bench",
            "--voice",
            "--voice-lengths",
            "4",
            "--voice-repeats",
            "1",
            "--voice-sessions",
            "1",
            "--voice-no-wer",
            "--json",
        ]
    )
    assert args.handler(args, None) == 0
    report = json.loads(capsys.readouterr().out)
    four = report["lengths"]["4"]
    assert four["runs"] == 1 and four["latency_ms"]["p50"] > 0
    split = four["split_ms_median"]
    assert set(split) == {"hangover_ms", "wait_ms", "stt_ms", "stt_compute_ms", "reply_ms", "tts_ms", "total_ms"}
    assert split["wait_ms"] >= 400  # the silence threshold is waited, not skipped
    assert 0 <= four["wer"] <= 1
    assert report["cpu_ms_per_audio_s"] > 0 and report["rss_mb"] > 100
    assert report["concurrency"][0]["sessions"] == 1 and report["concurrency"][0]["turns"] == 2
    assert set(report["health"]["loaded"]) == {"vad", "stt", "tts"}
