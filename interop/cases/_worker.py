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


def _terminate(signum, frame):
    # SIGTERM (the runner's per-case timeout) unwinds like Ctrl-C, so every
    # `finally` and context manager stops what it started.
    raise KeyboardInterrupt(f'signal {signum}')


signal.signal(signal.SIGTERM, _terminate)


def _die_with_parent():
    # Runs in the child between fork and exec: Linux sends SIGTERM to the
    # child when this process dies, even by SIGKILL, so no worker outlives
    # its case.
    try:
        import ctypes
        ctypes.CDLL('libc.so.6', use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort off Linux
        pass


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

    def __init__(self, args, ready_timeout=60.0, name='jig', binary=None, ready_text=None):
        self.name = name
        self.ready_text = ready_text
        self.args = [binary or jig_bin()] + list(args)
        self.proc = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True, preexec_fn=_die_with_parent,
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
                if self.ready_text and self.ready_text.encode() in line:
                    return {'line': line.decode(errors='replace')}
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


def jig_up(flow_yml, grpc_port):
    """`jig up FLOW --headless --port P`; ready when it says so on stdout."""
    return JigProcess(['up', flow_yml, '--headless', '--port', str(grpc_port), '--log-level', 'warn'],
                      name=f'jig up {flow_yml}', ready_text='ready to serve')


def build_example(folder):
    """Builds the Go executor in FOLDER (e.g. examples/typed) into
    bin/interop/ and returns the binary's path: a user executor is its own
    worker binary (workercmd.Main), taking the same flags as `jig executor`."""
    out = os.path.abspath(os.path.join('bin', 'interop', os.path.basename(folder.rstrip('/'))))
    subprocess.run([os.environ.get('GO', 'go'), 'build', '-o', out, './' + folder.rstrip('/')], check=True)
    return out


def jig_executor(uses, *extra, name=None):
    """A jig worker on 127.0.0.1 serving USES: `jig executor --uses USES`
    for a built-in (builtin:NAME), else the Go executor folder USES built
    and run with its config.yml. Returns (process, port)."""
    port = free_port()
    common = ['--port', str(port), '--host', HOST, '--log-level', 'warn']
    if name:
        common += ['--name', name]
    if uses.startswith('builtin:'):
        args, binary = ['executor', '--uses', uses] + common, None
    else:
        binary = build_example(uses)
        args = ['--uses', os.path.join(uses, 'config.yml')] + common
    args += list(extra)
    return JigProcess(args, name=f'jig worker {uses}', binary=binary), port


def wait_port(port, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), 0.5):
            return True
        time.sleep(0.1)
    return False


def run_parts(parts, run_one, timeout=240):
    """Runs each part of a case in its own Python process.

    Jina starts a Flow's gateway by forking; a process that already used
    gRPC (a Client, an earlier Flow) and forks again can hang inside gRPC.
    So a case with several Flows runs each in a fresh process: with no
    argument it re-runs this script once per part name and adds up their
    checks; with a part name as argument it runs that part (run_one(name))
    and exits with its own result.
    """
    if len(sys.argv) > 1:
        run_one(sys.argv[1])
        return
    passed = failed = 0
    for name in parts:
        child = subprocess.Popen([sys.executable, sys.argv[0], name], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True, preexec_fn=_die_with_parent)
        rc = None
        try:
            out, _ = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            child.terminate()
            try:
                out, _ = child.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                out, _ = child.communicate()
            rc = 'timeout'
        except BaseException:
            child.terminate()
            child.wait(30)
            raise
        lines = out.splitlines()
        oks = [l for l in lines if l.startswith('ok   ')]
        notes = [l for l in lines if l.startswith('note ')]
        fails = [l for l in lines if l.startswith('FAIL ')]
        for l in oks + notes + fails:
            print(l, flush=True)
        if rc == 'timeout':
            fails.append(f'FAIL {name}: timed out after {timeout}s')
            print(fails[-1], flush=True)
        if fails or not oks:
            # The part's whole output explains the failure.
            print(f'--- output of part {name}:', *[l for l in lines if l.strip() and not l.startswith(('ok   ', 'FAIL ', 'note '))][-40:], sep='\n', flush=True)
            if not oks and not fails:
                fails.append(f'FAIL {name}: no check ran')
                print(fails[-1], flush=True)
        passed += len(oks)
        failed += len(fails)
    print(f'{passed} checks passed, {failed} failed', flush=True)
    sys.exit(1 if failed else 0)
