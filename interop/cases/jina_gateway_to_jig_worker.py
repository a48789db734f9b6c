# interop-timeout: 1200
"""A REAL Jina 3.20.2 gateway in front of jig workers.

For several built-in executors and the typed example (examples/typed), a
`jig executor` is started and a Jina Flow uses it as an external executor
(`Flow(...).add(host=..., port=..., external=True)`), serving gRPC and HTTP.
Jina's Client posts documents through that gateway over both protocols and
checks they come back processed. The Jina gateway only starts when the
worker's endpoint discovery is what Jina's own worker publishes (a schema
entry for every endpoint, no self-referencing schema).
"""
import os
import sys
import tempfile
from typing import List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _worker import HOST, Checks, free_port, jig_executor, run_parts  # noqa: E402

import numpy as np  # noqa: E402
from docarray import BaseDoc, DocList  # noqa: E402
from docarray.documents import TextDoc  # noqa: E402
from docarray.documents.legacy import LegacyDocument  # noqa: E402
from jina import Client, Flow  # noqa: E402

checks = Checks()

# Jina 3.20.2's HTTP gateway re-validates every answer with an output model
# it rebuilds from the published schema (it compares the output *name* with
# LegacyDocument's schema, so never uses the LegacyDocument class), and
# LegacyDocument's chunks/matches are published untyped ({"items": {}}) by
# docarray itself: chunks come back as empty documents. A Python executor
# behind Jina's HTTP gateway loses them the same way; gRPC keeps them.
HTTP_CHUNKS_NOTE = 'note http-chunks: Jina HTTP gateway drops the fields of chunks/matches (same for Python executors)'


def legacy_docs(*texts):
    return DocList[LegacyDocument]([LegacyDocument(text=t) for t in texts])


class Review(BaseDoc):
    text: str
    stars: Optional[int] = None


class Scored(BaseDoc):
    text: Optional[str] = None
    stars: Optional[int] = None
    sentiment: Optional[float] = None
    label: Optional[str] = None
    words: Optional[int] = None
    agrees: Optional[bool] = None


def behind_jina(uses, name, test, *extra):
    """Starts `jig executor --uses USES`, a Jina Flow (gRPC + HTTP) with it
    as external executor NAME, and runs test(clients) with a Jina Client per
    protocol."""
    worker = None
    try:
        worker, wport = jig_executor(uses, *extra, name=name)
        gport, hport = free_port(), free_port()
        flow = Flow(protocol=['grpc', 'http'], port=[gport, hport], host=HOST, timeout_ready=60000).add(
            name=name, host=HOST, port=wport, external=True)
        with flow:
            checks.check(f'{name}-start', True, f'Jina Flow started in front of `jig executor --uses {uses}`')
            clients = {'grpc': Client(host=f'grpc://{HOST}:{gport}'), 'http': Client(host=f'http://{HOST}:{hport}')}
            for proto, c in clients.items():
                checks.run(f'{name}-{proto}', test, proto, c)
    except Exception as e:  # noqa: BLE001
        checks.check(f'{name}-start', False, f'{type(e).__name__}: {e}')
    finally:
        if worker:
            worker.stop()


def echo(proto, c):
    checks.check(f'echo-{proto}-ready', c.is_flow_ready(), 'is_flow_ready() through the Jina gateway')
    checks.check(f'echo-{proto}-dry-run', c.dry_run(), 'dry_run() reaches the jig worker (_jina_dry_run_)')
    d = LegacyDocument(text='hello', tags={'k': 'v', 'n': 2}, embedding=np.array([0.5, 1.5], dtype=np.float32))
    out = c.post('/anything', DocList[LegacyDocument]([d]), return_type=DocList[LegacyDocument])
    o = out[0] if len(out) else None
    checks.check(f'echo-{proto}', o is not None and o.id == d.id and o.text == 'hello' and o.tags.get('k') == 'v'
                 and np.allclose(np.asarray(o.embedding, dtype=np.float32), [0.5, 1.5]),
                 f'LegacyDocument (id, text, tags, embedding) round-trips /anything: {o and (o.id == d.id, o.text, dict(o.tags))}')


def normalizer(proto, c):
    out = c.post('/norm', legacy_docs('  Hello   WORLD  '), return_type=DocList[LegacyDocument])
    checks.check(f'normalizer-{proto}', [d.text for d in out] == ['hello world'], f'TextNormalizer: {[d.text for d in out]}')


def sentencizer(proto, c):
    out = c.post('/split', legacy_docs('One sentence. Another one! A third?'), return_type=DocList[LegacyDocument])
    chunks = [getattr(ch, 'text', None) for ch in (out[0].chunks or [])] if len(out) else []
    if proto == 'http':
        print(HTTP_CHUNKS_NOTE, flush=True)
        checks.check(f'sentencizer-{proto}', len(chunks) == 3, f'Sentencizer: 3 chunks (their fields dropped by Jina): {chunks}')
        return
    checks.check(f'sentencizer-{proto}', chunks == ['One sentence.', 'Another one!', 'A third?'], f'Sentencizer: chunks {chunks}')


def embedder(proto, c):
    out = c.post('/embed', DocList[TextDoc]([TextDoc(text='hash me'), TextDoc(text='and me')]), return_type=DocList[TextDoc])
    embs = [np.asarray(d.embedding) if d.embedding is not None else None for d in out]
    ok = len(embs) == 2 and all(e is not None and e.shape == (16,) for e in embs) and \
        all(abs(float(np.linalg.norm(e)) - 1) < 1e-3 for e in embs) and not np.allclose(embs[0], embs[1])
    checks.check(f'embedder-{proto}', ok, f'HashEmbedder (dim 16) embeds TextDoc: shapes {[None if e is None else e.shape for e in embs]}')
    # Legacy documents with chunks: the self-referencing schema that used to
    # make Jina's gateway recurse.
    d = LegacyDocument(text='root', chunks=legacy_docs('child one', 'child two'))
    out = c.post('/embed', DocList[LegacyDocument]([d]), return_type=DocList[LegacyDocument])
    ch = out[0].chunks if len(out) else None
    if proto == 'http':
        print(HTTP_CHUNKS_NOTE, flush=True)
        checks.check(f'embedder-{proto}-chunks', ch is not None and len(ch) == 2 and out[0].embedding is not None,
                     'a LegacyDocument with chunks (no recursion; chunk fields dropped by Jina) is embedded')
        return
    checks.check(f'embedder-{proto}-chunks', ch is not None and len(ch) == 2 and all(x.embedding is not None for x in ch),
                 'HashEmbedder embeds chunks of a LegacyDocument too')


def sleep(proto, c):
    out = c.post('/slow', legacy_docs('a', 'b'), return_type=DocList[LegacyDocument])
    checks.check(f'sleep-{proto}', [d.text for d in out] == ['a', 'b'], 'Sleep passes documents through')


def fault(proto, c):
    if proto == 'grpc':
        errors = []
        c.post('/fail', legacy_docs('x'), on_error=lambda resp: errors.append(resp.header.status))
        ok = len(errors) == 1 and errors[0].exception.name == 'InjectedFault' and errors[0].exception.executor == 'fault'
        checks.check(f'fault-{proto}', ok, f'a failing jig handler reaches on_error (name, executor): '
                     f'{[(e.exception.name, e.exception.executor) for e in errors]}')
        return
    # Jina's HTTP gateway answers an executor's error with an HTTP error
    # whose detail is the exception; Jina's client raises it (on_error is
    # for gRPC statuses). Same as with a failing Python executor.
    try:
        c.post('/fail', legacy_docs('x'))
        checks.check(f'fault-{proto}', False, 'no error raised')
    except Exception as e:  # noqa: BLE001
        checks.check(f'fault-{proto}', 'InjectedFault' in str(e), f'the client raises the jig handler\'s error: {e}')


def indexer(proto, c):
    c.post('/clear', legacy_docs())  # the other protocol indexed into the same worker
    vecs = np.eye(3, dtype=np.float32)
    docs = DocList[LegacyDocument]([LegacyDocument(id=f'{proto}-{i}', text=f'doc {i}', embedding=vecs[i]) for i in range(3)])
    c.post('/index', docs, return_type=DocList[LegacyDocument])
    q = DocList[LegacyDocument]([LegacyDocument(text='q', embedding=np.array([0.1, 0.9, 0.0], dtype=np.float32))])
    out = c.post('/search', q, parameters={'limit': 2}, return_type=DocList[LegacyDocument])
    matches = [m.id for m in (out[0].matches or [])] if len(out) else []
    checks.check(f'indexer-{proto}', matches[:1] == [f'{proto}-1'] and len(matches) == 2,
                 f'SimpleIndexer /index then /search (limit 2): matches {matches}')


class Keyword(BaseDoc):
    text: Optional[str] = None
    count: Optional[int] = None


class Keywords(BaseDoc):
    text: Optional[str] = None
    chunks: Optional[DocList[Keyword]] = None


def typed(proto, c):
    docs = DocList[Review]([Review(text='great product, love it', stars=5), Review(text='terrible and awful', stars=1)])
    if proto == 'grpc':
        out = c.post('/score', docs, return_type=DocList[Scored])
        labels = [(d.label, d.words) for d in out]
        checks.check(f'typed-{proto}-score', len(out) == 2 and out[0].label == 'positive' and out[1].label == 'negative'
                     and out[0].sentiment > 0 > out[1].sentiment and out[0].agrees is True,
                     f'examples/typed /score with a custom BaseDoc: {labels}')
    else:
        # Not checked over HTTP: Jina 3.20.2's HTTP gateway rebuilds the
        # output model from the schema and turns every scalar float field
        # ({"type": "number"}) into List[float] (_get_field_from_type in
        # jina/serve/runtimes/helper.py), so /score's float "sentiment"
        # fails validation there; a Python executor with a float field
        # fails the same way behind Jina's HTTP gateway.
        print('note typed-http-score: skipped (Jina HTTP gateway turns float fields into List[float])', flush=True)
    out = c.post('/keywords', DocList[Review]([Review(text='good good product')]), return_type=DocList[Keywords])
    kws = [(k.text, k.count) for k in (out[0].chunks or [])] if len(out) else []
    checks.check(f'typed-{proto}-keywords', kws[:2] == [('good', 2), ('product', 1)],
                 f'examples/typed /keywords (typed chunks): {kws}')
    resp = c.post('/summary', docs, return_type=DocList[Review], return_responses=True)
    results = resp[0].parameters.get('__results__', {}) if resp else {}
    summary = next(iter(results.values()), {}) if results else {}
    checks.check(f'typed-{proto}-summary', summary.get('count') == 2, f'/summary results under __results__: {results}')


PARTS = {
    'echo': ('builtin:Echo', echo),
    'normalizer': ('builtin:TextNormalizer', normalizer),
    'sentencizer': ('builtin:Sentencizer', sentencizer),
    'embedder': ('builtin:HashEmbedder', embedder, '--uses-with', '{"dim": 16}'),
    'sleep': ('builtin:Sleep', sleep, '--uses-with', '{"latency_ms": 1}'),
    'fault': ('builtin:Fault', fault, '--uses-with', '{"error_rate": 1}'),
    'indexer': ('builtin:SimpleIndexer', indexer),
    'typed': ('examples/typed', typed),
}


def run_one(name):
    uses, test, *extra = PARTS[name]
    with tempfile.TemporaryDirectory() as ws:
        behind_jina(uses, name, test, *extra, '--workspace', ws)
    checks.exit()


if __name__ == '__main__':
    run_parts(PARTS, run_one)
