"""jig gateway -> real Jina 3.20.2 worker.

A Python executor served by Jina's own worker runtime
(Deployment(..., include_gateway=False)) is `external: true` in a jig flow.
Checked through the real Jina Client (gRPC and HTTP) and `jig post`:
documents, executor-scoped parameters resolved by jig's gateway exactly as
Jina's gateway resolves them (_parse_specific_params, then the worker's
_parse_params), and errors (name, args, executor, stack).

Run: $JINA_PY interop/cases/gateway_jig_to_jina_worker.py with $JIG set, cwd = repo root.
"""
import json
import os
import subprocess
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _jig import (Checks, free_port, jig_binary, kill_process_tree,  # noqa: E402
                  start_jig_flow, start_python_process)

CASE = 'jig_to_jina_worker'

WORKER = '''
import numpy as np
from jina import Deployment, Executor, requests
from docarray import DocList
from docarray.documents import TextDoc
from docarray.documents.legacy import LegacyDocument


class PyExec(Executor):
    @requests(on='/upper')
    def upper(self, docs: DocList[TextDoc], **kwargs) -> DocList[TextDoc]:
        for d in docs:
            d.text = d.text.upper()
        return docs

    @requests(on='/params')
    def params(self, docs: DocList[LegacyDocument], parameters, **kwargs) -> DocList[LegacyDocument]:
        for d in docs:
            d.tags['seen'] = dict(parameters)
        return docs

    @requests(on='/embed')
    def embed(self, docs: DocList[TextDoc], **kwargs) -> DocList[TextDoc]:
        for d in docs:
            d.embedding = np.array([0.5, 1.0, 0.1])  # numpy's default: float64
        return docs

    @requests(on='/fail')
    def fail(self, docs: DocList[TextDoc], **kwargs) -> DocList[TextDoc]:
        raise ValueError('bad value', 42)


with Deployment(uses=PyExec, name='pyexec', port=%(port)d, host='127.0.0.1', include_gateway=False) as d:
    d.block()
'''

FLOW = '''jtype: Flow
executors:
  - name: pyexec
    external: true
    host: 127.0.0.1
    port: %d
  - name: tail
    uses: builtin:Echo
'''


def main():
    import numpy as np
    from docarray import DocList
    from docarray.documents import TextDoc
    from docarray.documents.legacy import LegacyDocument
    from jina import Client
    from jina.serve.runtimes.helper import _parse_specific_params
    from jina.serve.runtimes.worker.request_handling import WorkerRequestHandler

    c = Checks(CASE)
    jig = jig_binary()
    procs = []
    try:
        wport = free_port()
        procs.append(start_python_process(WORKER % {'port': wport}, 'jina-worker', ports=[wport]))
        flow, gp, hp = start_jig_flow(FLOW % wport, name='to-jina-worker')
        procs.append(flow)
        grpc_client = Client(host=f'grpc://127.0.0.1:{gp}')
        http_client = Client(host=f'http://127.0.0.1:{hp}')

        c.check('is_flow_ready() is True with a Jina worker as external executor', grpc_client.is_flow_ready() is True)

        for proto, client in (('grpc', grpc_client), ('http', http_client)):
            def docs_roundtrip():
                out = client.post('/upper', DocList[TextDoc]([TextDoc(text='abc'), TextDoc(text='xyz')]), return_type=DocList[TextDoc])
                assert [d.text for d in out] == ['ABC', 'XYZ'], f'{[d.text for d in out]}'
            c.run(f'{proto}: documents go through the Jina worker (/upper)', docs_roundtrip)

        for proto, client in (('grpc', grpc_client), ('http', http_client)):
            def float64_embedding():
                out = client.post('/embed', DocList[TextDoc]([TextDoc(text='e')]), return_type=DocList[TextDoc])
                e = np.asarray(out[0].embedding)
                assert e.dtype.kind == 'f' and np.allclose(e, [0.5, 1.0, 0.1]), f'embedding {e!r}'
            c.run(f'{proto}: a float64 numpy embedding set by the Python executor reaches the Jina client', float64_embedding)

        # What Jina's gateway + worker make of the client's parameters:
        # computed with Jina's own functions.
        sent = {'plain': 1, 'pyexec__only': 'mine', 'other__k': 'theirs', 'pyexec': {'nested': True}, 'tail__x': 5}
        want = WorkerRequestHandler._parse_params(_parse_specific_params(sent, 'pyexec'), 'pyexec')

        def norm(p):
            p = dict(p)
            p.pop('__results__', None)  # the Jina client sends an empty one
            return json.loads(json.dumps(p, sort_keys=True))

        for proto, client in (('grpc', grpc_client), ('http', http_client)):
            def params():
                out = client.post('/params', DocList[LegacyDocument]([LegacyDocument(text='p')]), parameters=sent,
                                  return_type=DocList[LegacyDocument])
                seen = norm(out[0].tags['seen'])
                assert seen == norm(want), f'the executor saw {seen}, behind Jina\'s gateway it sees {norm(want)}'
            c.run(f'{proto}: the Jina executor sees parameters exactly as behind Jina\'s gateway (NAME__key, other__key, {{NAME: ...}})', params)

        def params_jig_post():
            r = subprocess.run([jig, 'post', f'grpc://127.0.0.1:{gp}', '--on', '/params', '--text', 'p', '--parameters', json.dumps(sent)],
                               capture_output=True, text=True, timeout=60)
            assert r.returncode == 0, f'exit {r.returncode}: {r.stderr}'
            doc = json.loads(r.stdout.splitlines()[0])
            seen = norm(doc['tags']['seen'])
            assert seen == norm(want), f'the executor saw {seen}, want {norm(want)}'
        c.run('jig post: the Jina executor sees parameters exactly as behind Jina\'s gateway', params_jig_post)

        def check_exception(ex, where):
            assert ex['name'] == 'ValueError', f'{where}: name {ex.get("name")!r}'
            assert 'bad value' in ' '.join(ex.get('args', [])) and '42' in ' '.join(ex.get('args', [])), f'{where}: args {ex.get("args")}'
            # Jina's worker names the executor class; jig passes it through.
            assert ex.get('executor') == 'PyExec', f'{where}: executor {ex.get("executor")!r}'
            stacks = ''.join(ex.get('stacks', []))
            assert 'raise ValueError' in stacks, f'{where}: stack {ex.get("stacks")}'

        def error_grpc():
            errs = []
            grpc_client.post('/fail', DocList[TextDoc]([TextDoc(text='x')]), on_error=errs.append)
            assert len(errs) == 1, f'{len(errs)} errors'
            e = errs[0].header.status.exception
            check_exception({'name': e.name, 'args': list(e.args), 'executor': e.executor, 'stacks': list(e.stacks)}, 'grpc on_error')
        c.run('grpc: a Python exception reaches on_error with name, args, executor and stack', error_grpc)

        def error_http():
            try:
                http_client.post('/fail', DocList[TextDoc]([TextDoc(text='x')]))
            except ValueError as e:
                body = e.args[0]
                assert "ValueError('bad value', 42)" in body.get('detail', ''), f'detail {body.get("detail")!r}'
                check_exception(body['header']['status']['exception'], 'http')
                return
            raise AssertionError('no exception')
        c.run('http: a Python exception raises ValueError with detail, name, args, executor and stack', error_http)

        def error_jig_post():
            r = subprocess.run([jig, 'post', f'grpc://127.0.0.1:{gp}', '--on', '/fail', '--text', 'x'],
                               capture_output=True, text=True, timeout=60)
            out = r.stdout + r.stderr
            assert r.returncode == 1, f'exit {r.returncode}: {out}'
            for want_s in ('ValueError', 'bad value', '42', 'PyExec', 'raise ValueError'):
                assert want_s in out, f'{want_s!r} not in jig post output: {out}'
        c.run('jig post: the Python exception is reported (exit 1) with name, args, executor and stack', error_jig_post)
    except Exception as e:
        c.fail('setup', f'{type(e).__name__}: {e}\n{traceback.format_exc(limit=5)}')
    finally:
        for p in reversed(procs):
            kill_process_tree(p)
    c.exit()


if __name__ == '__main__':
    main()
