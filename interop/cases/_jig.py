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


# --- Jina Client -> jig gateway (shared by client_grpc_* and client_http_*) ---

QUICKSTART_FLOW = 'examples/quickstart/flow.yml'

FAULT_FLOW = '''jtype: Flow
executors:
  - name: ext
    external: true
    host: 127.0.0.1
    port: %d
  - name: boom
    uses: builtin:Fault
    uses_with: {error_rate: 1.0, error_name: BoomError}
'''


def jina_client_quickstart_checks(protocol):
    """Run the real Jina Client over `protocol` ('grpc' or 'http') against
    `jig up examples/quickstart/flow.yml` and a flow whose executor always
    fails; print one line per check and exit."""
    import numpy as np
    from docarray import BaseDoc, DocList
    from docarray.documents import TextDoc
    from docarray.documents.legacy import LegacyDocument
    from docarray.typing import NdArray
    from jina import Client

    case = f'client_{protocol}'
    c = Checks(case)

    class TensorDoc(BaseDoc):
        text: str = ''
        t32: NdArray = None
        t64: NdArray = None

    with open(QUICKSTART_FLOW) as f:
        flow = f.read()
    procs = []
    try:
        proc, gp, hp = start_jig_flow(flow, name='quickstart')
        procs.append(proc)
        port = gp if protocol == 'grpc' else hp
        client = Client(host=f'{protocol}://127.0.0.1:{port}')

        c.check('is_flow_ready() is True', client.is_flow_ready() is True)
        c.check('dry_run() is True', client.dry_run() is True)

        if protocol == 'http':
            import json as _json

            def raw_probes():
                with urllib.request.urlopen(f'http://127.0.0.1:{hp}/dry_run', timeout=10) as r:
                    body = _json.loads(r.read())
                # Jina's gateway: StatusMessage().to_dict() of a SUCCESS status.
                assert r.status == 200 and body == {'code': 0, 'description': '', 'exception': None}, f'/dry_run {r.status} {body}'
                with urllib.request.urlopen(f'http://127.0.0.1:{hp}/status', timeout=10) as r:
                    body = _json.loads(r.read())
                # Jina's gateway: {'jina': {str: str}, 'envs': {str: str}} (JinaInfoModel).
                assert r.status == 200 and set(body) == {'jina', 'envs'}, f'/status keys {list(body)}'
                assert all(isinstance(v, str) for v in body['jina'].values()) and all(isinstance(v, str) for v in body['envs'].values()), f'/status {body}'
            c.run('GET /dry_run and /status answer in the shape of Jina\'s gateway', raw_probes)

        def text_doc_list():
            docs = client.post('/index', DocList[TextDoc]([TextDoc(text='Hello World. Second sentence.')]),
                               return_type=DocList[TextDoc])
            assert isinstance(docs, DocList) and len(docs) == 1, f'got {docs!r}'
            assert docs[0].text == 'hello world. second sentence.', f'text {docs[0].text!r}'
            assert docs[0].embedding is not None and len(docs[0].embedding) > 0, 'no embedding'
            emb = np.asarray(docs[0].embedding)
            assert emb.dtype.kind == 'f', f'embedding dtype {emb.dtype}'
        c.run('post DocList[TextDoc] to /index: normalised, embedded', text_doc_list)

        def legacy():
            docs = client.post('/search', DocList[LegacyDocument]([LegacyDocument(text='hello world', tags={'k': 'v', 'n': {'x': 1}})]),
                               return_type=DocList[LegacyDocument], parameters={'limit': 3})
            assert len(docs) == 1, f'{len(docs)} docs'
            d = docs[0]
            assert d.tags.get('k') == 'v' and d.tags.get('n') == {'x': 1}, f'tags {d.tags}'
            assert d.matches is not None and len(d.matches) > 0, 'no matches'
            assert d.matches[0].text, f'match {d.matches[0]}'
        c.run('post DocList[LegacyDocument] to /search: tags kept, matches found', legacy)

        def tensors():
            t32 = np.array([[0.0, 1.0, 2.0], [0.5, -1.25, 3.0]], dtype=np.float32)
            t64 = np.array([0.1, 2.0, -3.000000001], dtype=np.float64)
            docs = client.post('/index', DocList[TensorDoc]([TensorDoc(id='tensor-doc', text='T', t32=t32, t64=t64)]),
                               return_type=DocList[TensorDoc])
            assert len(docs) == 1, f'{len(docs)} docs'
            d = docs[0]
            a32, a64 = np.asarray(d.t32), np.asarray(d.t64)
            assert a32.dtype.kind == 'f' and a64.dtype.kind == 'f', f'dtypes {a32.dtype} {a64.dtype} (floats came back as ints)'
            assert a32.shape == (2, 3) and np.array_equal(a32.astype(np.float32), t32), f't32 {a32}'
            assert a64.shape == (3,) and np.array_equal(a64, t64), f't64 {a64!r}'
        c.run('custom BaseDoc with float32/float64 tensors round-trips (floats stay floats)', tensors)

        def legacy_tensor():
            docs = client.post('/index', DocList[LegacyDocument]([LegacyDocument(id='whole', tensor=np.array([0.0, 1.0, 2.0], dtype=np.float32))]),
                               return_type=DocList[LegacyDocument])
            t = np.asarray(docs[0].tensor)
            assert t.dtype.kind == 'f' and np.array_equal(t, [0.0, 1.0, 2.0]), f'tensor {t!r} (dtype {t.dtype})'
        c.run('LegacyDocument float32 tensor [0.0, 1.0, 2.0] comes back as floats, not int64', legacy_tensor)

        def parameters():
            got = []
            params = {'plain': 1, 'index__limit': 2, 'other__k': 3, 'index': {'nested': True}}
            client.post('/count', DocList[TextDoc]([]), parameters=params, return_responses=False,
                        on_done=lambda r: got.append(r))
            assert len(got) == 1, f'{len(got)} responses'
            p = dict(got[0].parameters)
            res = p.pop('__results__', None)
            want = {'plain': 1.0, 'index__limit': 2.0, 'other__k': 3.0, 'index': {'nested': True}}
            assert p == want, f'parameters came back as {p}, want the client\'s {want}'
            # /count goes to one of index's two shards (polling ANY); the
            # entry is named after the shard's worker, as in Jina.
            counts = [v.get('count', 0) for k, v in (res or {}).items() if k.split('/')[0] == 'index']
            assert counts and counts[0] >= 1, f'__results__ {res}'
        c.run('parameters (plain, NAME__key, {NAME: {...}}) come back as sent; on_done called; __results__ holds index count', parameters)

        def return_responses():
            resps = client.post('/index', DocList[TextDoc]([TextDoc(text=f'r{i}') for i in range(4)]),
                                request_size=2, return_responses=True)
            assert len(resps) == 2, f'{len(resps)} responses'
            n = sum(len(r.docs) for r in resps)
            assert n == 4, f'{n} docs'
            assert all(r.header.status.code == 0 for r in resps), 'a response is not SUCCESS'
        c.run('return_responses=True gives one response per request (request_size=2)', return_responses)

        def streaming():
            docs = DocList[TextDoc]([TextDoc(id=f's{i:04d}', text=f'Doc number {i}') for i in range(1000)])
            out = client.post('/index', docs, request_size=100, return_type=DocList[TextDoc])
            assert len(out) == 1000, f'{len(out)} docs back'
            assert sorted(d.id for d in out) == sorted(d.id for d in docs), 'ids differ'
            assert all(d.text == f'doc number {int(d.id[1:])}' for d in out), 'texts differ'
        c.run('request_size=100 streams 1,000 docs, all come back processed', streaming)

        kill_process_tree(procs.pop())

        worker, wport = start_jig_executor('builtin:Echo')
        procs.append(worker)
        proc, gp, hp = start_jig_flow(FAULT_FLOW % wport, name='fault')
        procs.append(proc)
        port = gp if protocol == 'grpc' else hp
        client = Client(host=f'{protocol}://127.0.0.1:{port}')
        c.check('is_flow_ready() is True (fault flow)', client.is_flow_ready() is True)

        if protocol == 'grpc':
            def on_error():
                errs, dones = [], []
                client.post('/x', DocList[TextDoc]([TextDoc(text='x')]), on_error=errs.append, on_done=dones.append)
                assert len(errs) == 1 and not dones, f'on_error {len(errs)} on_done {len(dones)}'
                st = errs[0].header.status
                assert st.code == 1, f'status {st}'
                assert st.exception.name == 'BoomError' and st.exception.executor == 'boom', f'exception {st.exception}'
            c.run('a failing executor calls on_error (not on_done) with name and executor', on_error)

            def raises():
                from jina.excepts import BadServer
                try:
                    client.post('/x', DocList[TextDoc]([TextDoc(text='x')]))
                except BadServer as e:
                    assert 'BoomError' in str(e), f'{e}'
                    return
                raise AssertionError('no exception raised')
            c.run('without on_error a failing executor raises BadServer naming the exception', raises)
        else:
            # Over HTTP, Jina's own gateway answers a failed request with
            # 499 {"detail": "<repr>"}; its client raises ValueError and
            # does not call on_error/on_done. jig answers 500 with "detail"
            # and its full header: the client behaves the same.
            def on_error_http():
                errs, dones = [], []
                try:
                    client.post('/x', DocList[TextDoc]([TextDoc(text='x')]), on_error=errs.append, on_done=dones.append)
                except ValueError as e:
                    body = e.args[0]
                    assert isinstance(body, dict) and 'BoomError' in body.get('detail', ''), f'{body!r}'
                    ex = body['header']['status']['exception']
                    assert ex['name'] == 'BoomError' and ex['executor'] == 'boom', f'exception {ex}'
                    assert not dones, 'on_done called for a failed request'
                    return
                raise AssertionError(f'no ValueError (on_error {len(errs)}, on_done {len(dones)})')
            c.run('a failing executor raises ValueError with detail, name and executor (as behind Jina\'s HTTP gateway)', on_error_http)

            def raises_http():
                try:
                    client.post('/x', DocList[TextDoc]([TextDoc(text='x')]))
                except ValueError as e:
                    assert 'BoomError' in str(e), f'{e}'
                    return
                raise AssertionError('no exception raised')
            c.run('without on_error a failing executor raises ValueError naming the exception', raises_http)

        # Unhealthy: the external worker goes away; the gateway notices
        # (health checks) and dry_run says so.
        kill_process_tree(worker)
        deadline = time.monotonic() + 30
        ready = True
        while ready and time.monotonic() < deadline:
            ready = client.is_flow_ready()
            if ready:
                time.sleep(0.5)
        c.check('is_flow_ready() is False once an executor is down', ready is False)
        c.check('dry_run() is False once an executor is down', client.dry_run() is False)
    except Exception as e:
        c.fail('setup', f'{type(e).__name__}: {e}\n{traceback.format_exc(limit=5)}')
    finally:
        for p in procs:
            kill_process_tree(p)
    c.exit()
