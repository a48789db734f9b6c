"""A REAL Jina 3.20.2 gateway in front of a jig flow's gateway, used as an
external executor: Flow(...).add(host=..., port=<jig gateway>, external=True).

Jina's gateway discovers the endpoints of the jig gateway (which must pass
its executors' schemas through whole: input, output, parameters,
is_generator, is_singleton_doc) and forwards requests to it with
process_single_data; the jig flow runs them through its own executors.
"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _worker import HOST, Checks, free_port, jig_up, run_parts  # noqa: E402

import numpy as np  # noqa: E402
from docarray import DocList  # noqa: E402
from docarray.documents import TextDoc  # noqa: E402
from docarray.documents.legacy import LegacyDocument  # noqa: E402
from jina import Client, Flow  # noqa: E402

checks = Checks()

FLOW = """jtype: Flow
executors:
  - name: norm
    uses: builtin:TextNormalizer
  - name: split
    uses: builtin:Sentencizer
  - name: embed
    uses: builtin:HashEmbedder
    uses_with: {dim: 16}
"""


def run(proto_unused=None):
    jig = None
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'flow.yml')
        with open(path, 'w') as fh:
            fh.write(FLOW)
        try:
            jport = free_port()
            jig = jig_up(path, jport)
            gport, hport = free_port(), free_port()
            flow = Flow(protocol=['grpc', 'http'], port=[gport, hport], host=HOST, timeout_ready=60000).add(
                name='jigflow', host=HOST, port=jport, external=True)
            with flow:
                checks.check('start', True, 'Jina Flow started in front of a jig flow gateway (external)')
                for proto, c in (('grpc', Client(host=f'grpc://{HOST}:{gport}')), ('http', Client(host=f'http://{HOST}:{hport}'))):
                    checks.run(f'{proto}', post, proto, c)
        except Exception as e:  # noqa: BLE001
            checks.check('start', False, f'{type(e).__name__}: {e}')
        finally:
            if jig:
                jig.stop()
    checks.exit()


def post(proto, c):
    checks.check(f'{proto}-ready', c.is_flow_ready(), 'is_flow_ready() through both gateways')
    checks.check(f'{proto}-dry-run', c.dry_run(), 'dry_run() through both gateways')
    d = LegacyDocument(text='  Hello THERE.  General   Kenobi! ', tags={'k': 1})
    out = c.post('/index', DocList[LegacyDocument]([d]), return_type=DocList[LegacyDocument])
    o = out[0] if len(out) else None
    chunks = [ch.text for ch in (o.chunks or [])] if o else []
    emb = np.asarray(o.embedding) if o is not None and o.embedding is not None else None
    if proto == 'http':
        # Jina's HTTP gateway re-validates the answer with the endpoint's
        # published output model: here HashEmbedder's output struct (id,
        # embedding, chunks), so the text and tags jig's typed handler kept
        # are dropped by Jina's gateway. gRPC passes the documents through.
        print(f'note http-legacy: Jina HTTP gateway keeps only the published output fields: text {o and o.text!r}', flush=True)
        checks.check(f'{proto}-legacy', o is not None and o.id == d.id and len(chunks) == 2 and emb is not None and emb.shape == (16,),
                     f'LegacyDocument through the jig flow (id, 2 chunks, embedding {None if emb is None else emb.shape})')
        return
    checks.check(f'{proto}-legacy', o is not None and o.id == d.id and o.text == 'hello there. general kenobi!'
                 and len(chunks) == 2 and emb is not None and emb.shape == (16,) and o.tags.get('k') == 1,
                 f'LegacyDocument normalised, split and embedded by the jig flow: text {o and o.text!r}, chunks {chunks}, '
                 f'embedding {None if emb is None else emb.shape}')
    out = c.post('/search', DocList[TextDoc]([TextDoc(text='One. Two.')]), return_type=DocList[TextDoc])
    e = out[0].embedding if len(out) else None
    checks.check(f'{proto}-textdoc', e is not None and np.asarray(e).shape == (16,), 'TextDoc embedded by the jig flow')


if __name__ == '__main__':
    run_parts(['flow'], lambda name: run())
