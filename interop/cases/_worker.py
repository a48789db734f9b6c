"""Helpers for the interop cases that put real Jina in front of jig workers.

Every case follows the same convention (see interop/README.md): it is run as
`$JINA_PY interop/cases/NAME.py` from the repository root with JIG naming the
jig binary, starts what it needs on 127.0.0.1 with free ports, stops all of
it even when a check fails, prints one line per check and exits 0 only when
every check passed.
"""
import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import traceback

HOST = '127.0.0.1'


def free_port():
    """A port nobody listens on right now (bound on 127.0.0.1, then released)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def jig_bin():
    path = os.environ.get('JIG')
    if not path or not os.path.exists(path):
        sys.exit('JIG must name the jig binary (make interop sets it)')
    return path


class Checks:
    """Counts and prints checks: `ok   name: what` or `FAIL name: what`."""

    def __init__(self):
        self.failed = 0
        self.passed = 0

    def check(self, name, cond, what=''):
        if cond:
            self.passed += 1
            print(f'ok   {name}: {what}', flush=True)
        else:
            self.failed += 1
            print(f'FAIL {name}: {what}', flush=True)
        return bool(cond)

    def run(self, name, fn, *args, **kw):
        """Runs fn; an exception is a failed check named name."""
        try:
            return fn(*args, **kw)
        except Exception as e:  # noqa: BLE001 - a case reports, it never crashes
            self.check(name, False, f'{type(e).__name__}: {e}')
            traceback.print_exc(file=sys.stdout)
            return None

    def exit(self):
        print(f'{self.passed} checks passed, {self.failed} failed', flush=True)
        sys.exit(1 if self.failed else 0)


class JigProcess:
    """A jig child process that prints a JSON ready line on stdout
    ({"jig":"ready","address":...}); stopped with SIGTERM, then SIGKILL."""

    def __init__(self, args, ready_timeout=60.0, name='jig'):
        self.name = name
        self.args = [jig_bin()] + list(args)
        self.proc = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.ready = self._wait_ready(ready_timeout)

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        buf = b''
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f'{self.name} exited with {self.proc.returncode}: {self.stderr_tail()}')
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if not r:
                continue
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            buf += chunk
            while b'\n' in buf:
                line, buf = buf.split(b'\n', 1)
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                if isinstance(msg, dict) and msg.get('jig') == 'ready':
                    return msg
        self.stop()
        raise RuntimeError(f'{self.name} not ready after {timeout}s: {self.stderr_tail()}')

    def stderr_tail(self):
        if self.proc.poll() is None:
            return ''
        try:
            return self.proc.stderr.read().decode(errors='replace')[-2000:]
        except Exception:  # noqa: BLE001
            return ''

    def stop(self):
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        for f in (self.proc.stdout, self.proc.stderr):
            with contextlib.suppress(Exception):
                f.close()


def jig_executor(uses, *extra, name=None):
    """`jig executor --uses USES --port P` on 127.0.0.1; returns (process, port)."""
    port = free_port()
    args = ['executor', '--uses', uses, '--port', str(port), '--host', HOST, '--log-level', 'warn']
    if name:
        args += ['--name', name]
    args += list(extra)
    return JigProcess(args, name=f'jig executor {uses}'), port


def wait_port(port, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), 0.5):
            return True
        time.sleep(0.1)
    return False
