"""The child side of a Python run. Standard library only: it is started as a script (``python -I -S jail.py``), never
imported by the server, and reads its job as JSON on stdin.

In order: (unshare mode) build a new root in the fresh mount namespace: a tmpfs with read-only bind mounts of the
system libraries and the Python installation, a size-limited tmpfs as the work directory and /tmp, /dev/null, /dev/zero,
/dev/urandom and a /proc of the new PID namespace; chroot into it. Then drop root for ``nobody`` when running as
real root, set the resource limits, (rlimits mode) install an audit hook that refuses sockets, subprocesses and file
access outside the work directory, run the candidate's code, then each hidden test. Results go to fd 3 as JSON lines
(one per event), so that what the code prints on stdout / stderr never mixes with them.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import sys
import traceback

CODE_FILE = "<your code>"
TEST_FILE = "<hidden test>"

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
NOBODY = 65534


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _mount(libc: ctypes.CDLL, src: str | None, dst: str, fstype: str | None, flags: int, data: str | None) -> None:
    enc = [None if x is None else x.encode() for x in (src, dst, fstype, data)]
    if libc.mount(enc[0], enc[1], enc[2], ctypes.c_ulong(flags), enc[3]) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {src} on {dst}: {os.strerror(err)}")


def build_root(job: dict) -> None:
    """A new root made of read-only bind mounts, and chroot into it (we are root in a new mount namespace)."""
    libc = _libc()
    root = job["root"]
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE, None)
    _mount(libc, "tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=755")
    for path, size in ((job["jail_work"], job["work_mb"]), ("/tmp", job["work_mb"])):
        os.makedirs(root + path, exist_ok=True)
        _mount(libc, "tmpfs", root + path, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size}m,mode=1777")
    for path in job["ro_paths"]:
        if not os.path.lexists(path):
            continue
        target = root + path
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.islink(path) and os.path.dirname(path) == "/":  # merged /usr: /lib -> usr/lib
            os.symlink(os.readlink(path), target)
            continue
        if os.path.isdir(path):
            os.makedirs(target, exist_ok=True)
        else:
            open(target, "a").close()
        _mount(libc, path, target, None, MS_BIND | MS_REC, None)
        _mount(libc, None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, None)
    os.makedirs(root + "/dev", exist_ok=True)
    for name in ("null", "zero", "urandom", "random"):
        open(root + "/dev/" + name, "a").close()
        _mount(libc, "/dev/" + name, root + "/dev/" + name, None, MS_BIND, None)
    os.makedirs(root + "/proc", exist_ok=True)
    _mount(libc, "proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
    _mount(libc, None, root, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, None)
    os.chroot(root)
    os.chdir(job["jail_work"])


def drop_root() -> None:
    if os.getuid() == 0:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)


def set_limits(job: dict) -> None:
    mb = 1024 * 1024
    limits = {
        resource.RLIMIT_CPU: (job["cpu_s"], job["cpu_s"] + 1),  # SIGXCPU at the soft limit, SIGKILL a second later
        resource.RLIMIT_AS: (job["memory_mb"] * mb, job["memory_mb"] * mb),
        resource.RLIMIT_FSIZE: (job["file_kb"] * 1024, job["file_kb"] * 1024),
        resource.RLIMIT_NPROC: (job["processes"], job["processes"]),
        resource.RLIMIT_NOFILE: (64, 64),
        resource.RLIMIT_CORE: (0, 0),
    }
    for which, value in limits.items():
        resource.setrlimit(which, value)


def audit_hook(work: str, readable: list[str]):  # type: ignore[no-untyped-def]
    """rlimits mode only: refuse sockets, subprocesses and file access outside the work directory. Not a security
    boundary on its own (the namespaces are); it makes the common attempts fail with a clear message."""
    denied = {
        "socket.__new__",
        "socket.connect",
        "socket.bind",
        "socket.getaddrinfo",
        "subprocess.Popen",
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "os.fork",
        "os.forkpty",
        "os.kill",
        "os.killpg",
        "pty.spawn",
        "ctypes.dlopen",
        "ctypes.dlsym",
        "ctypes.cdata",
        "sys.addaudithook",
        "os.chdir",
    }
    paths = {"os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.symlink", "os.link"}
    work = os.path.realpath(work)

    def inside(path: object, prefixes: list[str]) -> bool:
        if isinstance(path, int):
            return True  # an already open descriptor
        try:
            real = os.path.realpath(os.fsdecode(path))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
        return any(real == p or real.startswith(p.rstrip("/") + "/") for p in prefixes)

    def hook(event: str, args: tuple) -> None:
        if event in denied:
            raise PermissionError(f"the sandbox does not allow {event}")
        if event == "open":
            path, mode = args[0], args[1] if len(args) > 1 else "r"
            writing = isinstance(mode, str) and any(c in mode for c in "wax+")
            if isinstance(mode, int):
                writing = bool(mode & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC))
            if not inside(path, [work] if writing else [work, *readable]):
                raise PermissionError(f"the sandbox does not allow opening {os.fsdecode(path)!r}")
        elif event in paths and args and not inside(args[0], [work]):
            raise PermissionError(f"the sandbox does not allow {event} outside the work directory")

    return hook


def _where(exc: BaseException) -> str:
    """The last line of the candidate's own code in the traceback (never a line of a hidden test)."""
    line = next((f.lineno for f in reversed(traceback.extract_tb(exc.__traceback__)) if f.filename == CODE_FILE), None)
    return f" (your code, line {line})" if line else ""


def _describe(exc: BaseException) -> str:
    name = type(exc).__name__
    text = str(exc)
    return (f"{name}: {text}" if text else name)[:300] + _where(exc)


def main() -> int:
    job = json.loads(sys.stdin.read())
    sys.dont_write_bytecode = True
    out = os.fdopen(job["result_fd"], "w", buffering=1)

    def emit(**event: object) -> None:
        out.write(json.dumps(event) + "\n")

    mode = job["mode"]
    if mode == "unshare":
        build_root(job)
    elif mode == "bwrap":  # bubblewrap built the root and is already in the work directory
        os.chdir(job["jail_work"])
    else:
        os.chdir(job["work"])
    if job.get("drop_root"):
        drop_root()
    set_limits(job)
    sys.path[:] = job["sys_path"]
    for name, value in job["env"].items():
        os.environ[name] = value
    emit(event="started", sandbox=mode)
    if mode == "rlimits":
        sys.addaudithook(audit_hook(os.getcwd(), job["sys_path"]))

    namespace: dict = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        exec(compile(job["code"], CODE_FILE, "exec"), namespace)
    except SystemExit:
        pass
    except BaseException as exc:  # noqa: BLE001 - whatever the code raised is the result
        emit(event="loaded", ok=False, error=_describe(exc))
        return 0
    entry = job.get("entry_point")
    if entry and not callable(namespace.get(entry)):
        emit(event="loaded", ok=False, error=f"your code does not define a function {entry}()")
        return 0
    emit(event="loaded", ok=True)
    if not job["cases"]:
        return 0
    try:
        exec(compile(job["setup"], TEST_FILE, "exec"), namespace)
    except BaseException as exc:  # noqa: BLE001
        emit(event="setup", ok=False, error=_describe(exc))
        return 0
    for case in job["cases"]:
        emit(event="case_start", name=case["name"])
        try:
            exec(compile(case["source"], TEST_FILE, "exec"), namespace)
        except BaseException as exc:  # noqa: BLE001
            emit(event="case", name=case["name"], passed=False, error=_describe(exc))
        else:
            emit(event="case", name=case["name"], passed=True)
    return 0


if __name__ == "__main__":
    try:
        code = main()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)
