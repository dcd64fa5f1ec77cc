"""Python runs through the sandbox (app/sandbox/python.py + jail.py), on every isolation this machine offers.

Every bank reference solution passes its hidden tests in the sandbox; wrong solutions (off by one, ties, leftovers,
NULL-ish returns) fail the named tests they should; attacks (a fork bomb, an infinite loop, a memory bomb, writing
outside the work directory, reading other files, opening a socket, flooding stdout, a huge file) are contained and
answered with a clear error; the hidden tests' code never appears in what a run shows.
"""

from __future__ import annotations

import asyncio
import os
import shutil

import pytest

from app.config import PROJECT_ROOT
from app.content.catalog import Catalog
from app.sandbox.python import Limits, PythonSandbox, detect_backend, split_tests


def _backends() -> list[str]:
    found = ["rlimits"]
    for name in ("unshare", "bwrap"):
        try:
            if detect_backend(name)[0] == name:
                found.insert(0, name)
        except RuntimeError:
            pass
    return found


BACKENDS = _backends()
STRONG = [b for b in BACKENDS if b != "rlimits"]  # isolation by namespaces


def _run(sandbox: PythonSandbox, question, code: str):  # type: ignore[no-untyped-def]
    return asyncio.run(sandbox.run(question, code))


@pytest.fixture(scope="module", params=BACKENDS)
def sandbox(request) -> PythonSandbox:  # type: ignore[no-untyped-def]
    return PythonSandbox(Limits(timeout_s=4, cpu_s=3), backend=request.param)


def test_this_machine_isolates_by_namespaces() -> None:
    """The documented fallback (rlimits only) is for machines without unshare or bwrap; this one has one."""
    if shutil.which("unshare") is None and shutil.which("bwrap") is None:
        pytest.skip("neither unshare nor bwrap here: the rlimits fallback is in use")
    assert STRONG, f"only {BACKENDS} work here"


def test_every_reference_solution_passes_in_the_sandbox(catalog: Catalog, sandbox: PythonSandbox) -> None:
    async def all_runs() -> list[str]:
        failures = []
        for q in catalog.questions.values():
            if q.python is None:
                continue
            run = await sandbox.run(q, q.python.solution)
            if run.status != "ok" or run.passed != run.total or run.total < 3:
                failures.append(f"{q.id}: {run.status} {run.passed}/{run.total}: {run.summary} {run.stderr[-300:]}")
        return failures

    failures = asyncio.run(all_runs())
    assert not failures, "\n".join(failures)


def test_the_hidden_tests_are_named(catalog: Catalog) -> None:
    for q in catalog.questions.values():
        if q.python is not None:
            _, cases = split_tests(q.python.tests)
            names = [c.name for c in cases]
            assert len(cases) >= 3 and len(set(names)) == len(names), (q.id, names)
            for probe in q.python.run_probes:
                if probe.when.startswith("test:"):
                    assert probe.when[5:] in names, (q.id, probe.when)


def test_tests_without_names_are_one_per_check() -> None:
    setup, cases = split_tests("import math\nx = 2\nassert x == 2\nassert math.sqrt(4) == x, 'root of four'\n")
    assert setup == "import math"
    assert [c.name for c in cases] == ["test 1", "root of four"]
    assert "x = 2" in cases[0].source


WRONG = [
    (  # leftovers: the rest of the longer list is dropped
        "py-merge-sorted-lists",
        "def merge_sorted_lists(a, b):\n    out, i, j = [], 0, 0\n    while i < len(a) and j < len(b):\n"
        "        if a[i] <= b[j]:\n            out.append(a[i]); i += 1\n        else:\n"
        "            out.append(b[j]); j += 1\n    return out\n",
        {"one list runs out first", "empty lists"},
    ),
    (  # off by one: n itself is never included
        "py-prime-to-n",
        "def primes_up_to(n):\n    return [x for x in range(2, n) if all(x % d for d in range(2, int(x ** 0.5) + 1))]\n",
        {"n itself prime"},
    ),
    (  # ties: most_common breaks ties by first appearance, not alphabetically
        "py-top-k-frequent",
        "from collections import Counter\ndef top_k_frequent(items, k):\n"
        "    return [x for x, _ in Counter(items).most_common(k)] if k > 0 else []\n",
        {"ties broken alphabetically"},
    ),
    (  # None versus an empty string
        "py-recurring-character",
        "def first_recurring_char(s):\n    seen = set()\n    for ch in s:\n        if ch in seen:\n"
        "            return ch\n        seen.add(ch)\n    return ''\n",
        {"no repeat"},
    ),
]


@pytest.mark.parametrize("qid,code,failing", WRONG, ids=[w[0] for w in WRONG])
def test_wrong_solutions_fail_the_right_tests(
    catalog: Catalog, sandbox: PythonSandbox, qid: str, code: str, failing: set[str]
) -> None:
    q = catalog.questions[qid]
    run = _run(sandbox, q, code)
    assert run.status == "wrong", run.summary
    failed = {t.name for t in run.tests if not t.passed}
    assert failing <= failed, (failed, run.summary)
    assert 0 < run.passed < run.total
    shown = run.summary + " ".join(t.error or "" for t in run.tests) + run.stdout + run.stderr
    assert q.python is not None
    for line in q.python.tests.splitlines():
        if line.strip().startswith("assert "):
            assert line.strip() not in shown  # the hidden tests' code is never shown


def test_an_error_names_the_line_of_the_candidates_code(catalog: Catalog, sandbox: PythonSandbox) -> None:
    q = catalog.questions["py-recurring-character"]
    run = _run(sandbox, q, "def first_recurring_char(s):\n    x = 1\n    return s[100]\n")
    assert run.status == "wrong" and all(not t.passed for t in run.tests[:2])
    assert "IndexError" in (run.tests[0].error or "") and "your code, line 3" in (run.tests[0].error or "")
    missing = _run(sandbox, q, "def something_else():\n    pass\n")
    assert missing.status == "error" and "first_recurring_char" in missing.summary
    syntax = _run(sandbox, q, "def first_recurring_char(s)\n    return None\n")
    assert syntax.status == "error" and "SyntaxError" in syntax.summary


def test_stdout_and_stderr_are_shown(sandbox: PythonSandbox) -> None:
    run = _run(sandbox, None, "import sys\nprint('hello')\nprint('oops', file=sys.stderr)\n")
    assert run.status == "ok" and not run.checked
    assert run.stdout == "hello\n" and run.stderr == "oops\n"


def test_pandas_and_numpy_are_available(sandbox: PythonSandbox) -> None:
    run = _run(
        sandbox,
        None,
        "import numpy as np, pandas as pd\nprint(int(np.arange(4).sum()), len(pd.DataFrame({'a': [1]})))\n",
    )
    assert run.status == "ok" and run.stdout.strip() == "6 1", run.summary + run.stderr


SECRET = PROJECT_ROOT / "pyproject.toml"  # a file of the server's that no run may read

ATTACKS = [
    ("fork bomb", "import os\nwhile True:\n    os.fork()\n", ("error", "wrong"), ("Resource temporarily", "os.fork")),
    ("infinite loop", "while True:\n    pass\n", ("timeout",), ("longer than", "CPU")),
    ("sleep", "import time\ntime.sleep(60)\n", ("timeout",), ("longer than",)),
    ("memory bomb", "x = bytearray(10 ** 11)\n", ("error",), ("MemoryError",)),
    ("memory growth", "a = []\nwhile True:\n    a.append(' ' * 10 ** 6)\n", ("error",), ("MemoryError",)),
    ("write /etc", "open('/etc/barraiser-evil', 'w').write('x')\n", ("error",), ("Read-only", "not allow", "denied")),
    (
        "write into the project",
        f"open({str(PROJECT_ROOT / 'evil.txt')!r}, 'w').write('x')\n",
        ("error",),
        ("Read-only", "not allow", "No such file", "denied"),
    ),
    (
        "read the server's files",
        f"print(open({str(SECRET)!r}).read()[:80])\n",
        ("error",),
        ("No such file", "not allow"),
    ),
    (
        "a socket",
        "import socket\nsocket.create_connection(('127.0.0.1', 8000), timeout=1)\n",
        ("error",),
        ("unreachable", "not allow", "refused"),
    ),
    (
        "a huge file",
        "open('big.bin', 'wb').write(b'x' * (20 * 1024 * 1024))\n",
        ("error",),
        ("too large", "File too large"),
    ),
    ("flooding stdout", "while True:\n    print('x' * 1000)\n", ("error",), ("printed more than",)),
    ("exiting early", "import os\nos._exit(3)\n", ("error",), ("exited",)),
]


@pytest.mark.parametrize("name,code,statuses,phrases", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_attacks_are_contained_with_a_clear_error(
    sandbox: PythonSandbox, name: str, code: str, statuses: tuple[str, ...], phrases: tuple[str, ...]
) -> None:
    run = _run(sandbox, None, code)
    assert run.status in statuses, (run.status, run.summary, run.stderr[-300:])
    assert any(p.lower() in run.summary.lower() for p in phrases), run.summary
    assert not (PROJECT_ROOT / "evil.txt").exists()
    assert not os.path.exists("/etc/barraiser-evil")
    assert SECRET.read_text().startswith("[build-system]")  # untouched, and the server still reads it


@pytest.mark.parametrize("backend", STRONG)
def test_namespaces_hide_the_network_the_files_and_the_processes(backend: str) -> None:
    sandbox = PythonSandbox(Limits(timeout_s=4), backend=backend)
    code = (
        "import os, socket\n"
        "print(sorted(p for p in os.listdir('/proc') if p.isdigit()))\n"
        "print(os.getuid())\n"
        f"print(os.path.exists({str(SECRET)!r}))\n"
        "print(sorted(line.split(':')[0].strip() for line in open('/proc/net/dev').readlines()[2:]))\n"
    )
    run = _run(sandbox, None, code)
    lines = run.stdout.splitlines()
    assert run.status == "ok", run.summary + run.stderr
    assert lines[0] in ("['1']", "['1', '2']")  # a PID namespace of its own: itself (and bwrap's init)
    assert lines[1] == "65534" or os.geteuid() != 0  # nobody, when the server runs as root
    assert lines[2] == "False"  # the project is not in its root
    assert lines[3] == "['lo']"  # a network namespace of its own: a loopback, no way out
