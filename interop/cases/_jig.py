"""Shared helpers for the interop cases: start jig (and real Jina) processes
on 127.0.0.1 with free ports, wait until they serve, stop them and every
child they started, and print one line per check.

Convention (see interop/README or the runner): a case is run as
`$JINA_PY interop/cases/NAME.py` with $JIG naming a built jig binary and
the repository root as the working directory; it prints `ok   <case>: ...`
or `FAIL <case>: ...` per check and exits 0 only when all passed.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

__all__ = [
    'Checks',
    'free_port',
    'jig_binary',
    'kill_process_tree',
    'start_jig_flow',
    'start_jig_executor',
    'start_python_process',
    'wait_for_port',
    'wait_for_http',
]


def jig_binary():
    """The jig binary named by $JIG (absolute path), or exit with a FAIL line."""
    path = os.environ.get('JIG', '')
    if not path or not os.path.isfile(path) or not os.access(path, os.X_OK):
        print(f'FAIL setup: $JIG does not name an executable jig binary ({path!r})')
        sys.exit(1)
    return path


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago (bind port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_for_port(port, proc=None, timeout=60.0, log_path=None):
    """Wait until 127.0.0.1:port accepts TCP connections; raise if proc exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f'process exited with {proc.returncode} before port {port} opened{_tail(log_path)}')
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f'port {port} not open after {timeout}s{_tail(log_path)}')


def wait_for_http(url, proc=None, timeout=60.0, log_path=None):
    """Wait until GET url answers 200."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f'process exited with {proc.returncode} before {url} answered{_tail(log_path)}')
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except Exception as e:  # not up yet
            last = e
        time.sleep(0.1)
    raise TimeoutError(f'{url} not ready after {timeout}s ({last}){_tail(log_path)}')


def _tail(log_path, n=3000):
    if not log_path:
        return ''
    try:
        with open(log_path, 'rb') as f:
            data = f.read()[-n:]
        return '\n--- log tail ---\n' + data.decode(errors='replace')
    except OSError:
        return ''


def kill_process_tree(proc, grace=10.0):
    """Stop proc and everything in its process group: SIGTERM, then SIGKILL.

    Processes are started with start_new_session=True, so the group id is
    the process id and no other process is touched.
    """
    if proc is None:
        return
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        pgid = None
    if pgid is not None and pgid == proc.pid:
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    elif proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    if pgid is not None and pgid == proc.pid:
        try:
            os.killpg(pgid, signal.SIGKILL)  # leftover children too
        except ProcessLookupError:
            pass
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=grace)


def _spawn(argv, name, cwd=None, env=None):
    log = tempfile.NamedTemporaryFile(prefix=f'jig-interop-{name}-', suffix='.log', delete=False)
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            cwd=cwd, env=env, start_new_session=True)
    proc.log_path = log.name
    log.close()
    return proc


def start_jig_flow(flow_yaml, grpc_port=None, http_port=None, timeout=120.0, name='flow'):
    """Run `jig up FLOW --headless` on a flow given as a YAML string.

    Returns (proc, grpc_port, http_port); the gateway answers /dry_run (HTTP)
    or its gRPC port accepts connections when this returns. Stop it with
    kill_process_tree(proc).
    """
    jig = jig_binary()
    grpc_port = grpc_port or free_port()
    http_port = http_port or free_port()
    d = tempfile.mkdtemp(prefix='jig-interop-')
    path = os.path.join(d, 'flow.yml')
    with open(path, 'w') as f:
        f.write(flow_yaml)
    env = dict(os.environ)
    env.setdefault('XDG_CACHE_HOME', os.path.join(d, 'cache'))
    proc = _spawn([jig, 'up', path, '--headless', '--port', str(grpc_port), '--http-port', str(http_port)],
                  name, env=env)
    try:
        wait_for_http(f'http://127.0.0.1:{http_port}/dry_run', proc, timeout, proc.log_path)
        wait_for_port(grpc_port, proc, timeout, proc.log_path)
    except BaseException:
        kill_process_tree(proc)
        raise
    return proc, grpc_port, http_port


def start_jig_executor(uses, port=None, timeout=120.0, extra=()):
    """Run a bare jig worker (`jig executor --uses USES --port P`); returns (proc, port)."""
    jig = jig_binary()
    port = port or free_port()
    proc = _spawn([jig, 'executor', '--uses', uses, '--port', str(port), *extra], 'executor')
    try:
        wait_for_port(port, proc, timeout, proc.log_path)
    except BaseException:
        kill_process_tree(proc)
        raise
    return proc, port


def start_python_process(code, name, ports=(), timeout=180.0):
    """Run Python code (a string) with the same interpreter in its own
    process group; wait until each of ports accepts connections."""
    d = tempfile.mkdtemp(prefix='jig-interop-py-')
    path = os.path.join(d, f'{name}.py')
    with open(path, 'w') as f:
        f.write(code)
    proc = _spawn([sys.executable, path], name, cwd=d)
    try:
        for p in ports:
            wait_for_port(p, proc, timeout, proc.log_path)
    except BaseException:
        kill_process_tree(proc)
        raise
    return proc


class Checks:
    """Records and prints checks: `ok   case: what` / `FAIL case: what: why`."""

    def __init__(self, case):
        self.case = case
        self.failed = 0
        self.passed = 0

    def check(self, what, cond, detail=''):
        """Record a boolean check."""
        if cond:
            self.passed += 1
            print(f'ok   {self.case}: {what}', flush=True)
        else:
            self.failed += 1
            print(f'FAIL {self.case}: {what}' + (f': {detail}' if detail else ''), flush=True)
        return bool(cond)

    def run(self, what, fn):
        """Run fn(); an exception fails the check (with its message)."""
        try:
            fn()
        except AssertionError as e:
            return self.check(what, False, str(e) or 'assertion failed')
        except Exception as e:  # the check's own failure
            return self.check(what, False, f'{type(e).__name__}: {e}\n{traceback.format_exc(limit=4)}')
        return self.check(what, True)

    def fail(self, what, detail=''):
        return self.check(what, False, detail)

    def exit(self):
        """Exit 0 only when every check passed (and there was at least one)."""
        if self.passed == 0 and self.failed == 0:
            print(f'FAIL {self.case}: no checks ran')
            sys.exit(1)
        sys.exit(1 if self.failed else 0)
