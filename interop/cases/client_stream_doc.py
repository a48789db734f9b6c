"""Interop case: Jina 3.20.2's own Client.stream_doc against jig.

The real Jina client (gRPC: jina.JinaSingleDocumentRequestRPC/stream_doc;
HTTP: GET /<endpoint>?<doc fields> answered with server-sent events) talks
to

  1. a jig flow whose generator is the built-in TokenStreamer, in-process,
     through the jig gateway (gRPC and HTTP);
  2. a jig flow whose generator is an external jig worker process
     (`jig executor --uses builtin:TokenStreamer`), through the gateway;
  3. that bare jig worker directly (gRPC, as Jina's client can).

Checks: every token arrives, in order, with ids; items arrive one by one
while the generator is still producing (the first token is received long
before the last: the generator waits DELAY_MS before each token, so a
buffering server would deliver all of them at the end); discovery marks the
endpoint is_generator; an ordinary post to the same endpoint returns all
tokens at once.

Run as `$JINA_PY interop/cases/client_stream_doc.py` from the repository
root with $JIG naming a built jig binary. Prints `ok   client_stream_doc:
...` / `FAIL client_stream_doc: ...` per check; exits 0 only if all passed.
Everything it starts binds 127.0.0.1 on free ports and is stopped on exit,
also on failure.
"""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

NAME = 'client_stream_doc'
DELAY_MS = 300
TEXT = 'jig streams tokens one by one'
TOKENS = TEXT.split()


# --- helpers (kept in this file on purpose) ---------------------------------

class Checks:
    def __init__(self):
        self.failed = 0
        self.passed = 0

    def check(self, what, cond, detail=''):
        if cond:
            self.passed += 1
            print(f'ok   {NAME}: {what}', flush=True)
        else:
            self.failed += 1
            print(f'FAIL {NAME}: {what}' + (f' ({detail})' if detail else ''), flush=True)

    def run(self, what, fn):
        """Run fn (which makes its own checks); an exception is a FAIL."""
        try:
            fn()
        except Exception as e:  # report and go on with the other checks
            self.failed += 1
            print(f'FAIL {NAME}: {what}: {type(e).__name__}: {e}', flush=True)
            traceback.print_exc(file=sys.stderr)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def tail(path, n=3000):
    try:
        with open(path, 'rb') as f:
            return f.read()[-n:].decode(errors='replace')
    except OSError:
        return ''


def wait_port(port, proc, log, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f'process exited ({proc.returncode}) before port {port} opened:\n{tail(log)}')
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f'port {port} not open after {timeout}s:\n{tail(log)}')


def wait_http_ok(url, proc, log, timeout=90):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f'process exited ({proc.returncode}) before {url} answered:\n{tail(log)}')
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except Exception as e:
            last = e
        time.sleep(0.1)
    raise TimeoutError(f'{url} not ready after {timeout}s ({last}):\n{tail(log)}')


class Procs:
    """Processes this case started; stop() ends each one's process group."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = []

    def start(self, name, args):
        log = os.path.join(self.tmp, name + '.log')
        f = open(log, 'wb')
        p = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        f.close()
        self.procs.append(p)
        return p, log

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for p in reversed(self.procs):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            except PermissionError:
                pass
            if p.poll() is None:
                p.wait(timeout=5)


# --- the case ----------------------------------------------------------------

def main():
    jig = os.environ.get('JIG', '')
    if not jig or not os.access(jig, os.X_OK):
        print(f'FAIL {NAME}: $JIG does not name an executable jig binary ({jig!r})')
        return 1

    from docarray import BaseDoc, DocList
    from docarray.documents import TextDoc
    from jina import Client

    class Token(BaseDoc):
        text: str = ''
        tags: dict = {}

    checks = Checks()
    tmp = tempfile.mkdtemp(prefix='jig-interop-stream-')
    procs = Procs(tmp)
    try:
        # A bare jig worker process serving the generator.
        wport = free_port()
        wproc, wlog = procs.start('worker', [jig, 'executor', '--uses', 'builtin:TokenStreamer', '--port', str(wport),
                                             '--name', 'tokens', '--uses-with', '{"delay_ms": %d}' % DELAY_MS])
        wait_port(wport, wproc, wlog)

        flows = {}
        for kind, spec in (
                ('in-process', "    uses: builtin:TokenStreamer\n    uses_with: {delay_ms: %d}\n" % DELAY_MS),
                ('external worker process', "    external: true\n    host: 127.0.0.1\n    port: %d\n" % wport)):
            yml = os.path.join(tmp, kind.replace(' ', '_') + '.yml')
            with open(yml, 'w') as f:
                f.write('jtype: Flow\nwith: {protocol: [grpc, http]}\nexecutors:\n  - name: tokens\n' + spec)
            gp, hp = free_port(), free_port()
            proc, log = procs.start('flow-' + kind.replace(' ', '_'),
                                    [jig, 'up', yml, '--headless', '--port', str(gp), '--http-port', str(hp)])
            wait_port(gp, proc, log)
            wait_http_ok(f'http://127.0.0.1:{hp}/dry_run', proc, log)
            flows[kind] = (gp, hp)

        async def collect(client, endpoint):
            """Items of stream_doc with their arrival times (monotonic)."""
            items = []
            async for d in client.stream_doc(on=endpoint, inputs=TextDoc(text=TEXT), return_type=Token):
                items.append((time.monotonic(), d))
            return items

        def check_stream(label, host):
            c = Client(host=host, asyncio=True)
            t0 = time.monotonic()
            items = asyncio.run(collect(c, '/stream'))
            texts = [d.text for _, d in items]
            checks.check(f'{label}: stream_doc yields every token in order {TOKENS}', texts == TOKENS, f'got {texts}')
            checks.check(f'{label}: every item is a document with an id and its index',
                         all(d.id for _, d in items) and [d.tags.get('index') for _, d in items] == list(range(len(TOKENS))),
                         f'got {[(d.id, d.tags) for _, d in items]}')
            if len(items) == len(TOKENS):
                first, last = items[0][0] - t0, items[-1][0] - t0
                produced = (len(TOKENS) - 1) * DELAY_MS / 1000
                # The generator sleeps DELAY_MS before each token: unbuffered,
                # the first item arrives (n-1)*DELAY_MS before the last.
                checks.check(f'{label}: items arrive incrementally (first after {first:.2f}s, last after {last:.2f}s, '
                             f'generator spacing {produced:.2f}s)', last - first >= produced * 0.5,
                             'the items arrived together: the stream was buffered')

        for kind, (gp, hp) in flows.items():
            checks.run(f'{kind} gRPC', lambda gp=gp, kind=kind: check_stream(f'gateway gRPC ({kind})', f'grpc://127.0.0.1:{gp}'))
            checks.run(f'{kind} HTTP', lambda hp=hp, kind=kind: check_stream(f'gateway HTTP ({kind})', f'http://127.0.0.1:{hp}'))
        checks.run('bare worker gRPC', lambda: check_stream('bare jig worker gRPC', f'grpc://127.0.0.1:{wport}'))

        def discovery():
            from google.protobuf import json_format, empty_pb2
            import grpc
            from jina.proto import jina_pb2_grpc
            gp, _ = flows['in-process']
            for label, port in (('gateway', gp), ('worker', wport)):
                with grpc.insecure_channel(f'127.0.0.1:{port}') as ch:
                    e = jina_pb2_grpc.JinaDiscoverEndpointsRPCStub(ch).endpoint_discovery(empty_pb2.Empty(), timeout=10)
                    schemas = json_format.MessageToDict(e.schemas)
                    entry = schemas.get('/stream') or schemas.get('/default') or {}
                    checks.check(f'endpoint_discovery of the {label} says is_generator for the generator',
                                 entry.get('is_generator') is True, f'schemas {list(schemas)}: {entry.get("is_generator")!r}')
        checks.run('discovery', discovery)

        def post_collects():
            gp, _ = flows['in-process']
            c = Client(host=f'grpc://127.0.0.1:{gp}')
            docs = c.post('/stream', inputs=DocList[TextDoc]([TextDoc(text='a b c')]), return_type=DocList[TextDoc],
                          parameters={'delay_ms': 0})
            checks.check('Client.post to a generator endpoint returns all its tokens at once',
                         [d.text for d in docs] == ['a', 'b', 'c'], f'got {[d.text for d in docs]}')
        checks.run('post', post_collects)
    except Exception as e:
        checks.failed += 1
        print(f'FAIL {NAME}: setup: {type(e).__name__}: {e}', flush=True)
    finally:
        procs.stop()

    total = checks.passed + checks.failed
    print(f'{NAME}: {checks.passed}/{total} checks passed', flush=True)
    return 0 if checks.failed == 0 and checks.passed > 0 else 1


if __name__ == '__main__':
    sys.exit(main())
