"""Jina's own networking (GrpcConnectionPool) and raw Jina gRPC stubs → a jig worker.

This is how a Jina gateway or head talks to a worker: process_single_data
(one request), process_data (several requests, reduced), endpoint_discovery
(whose schemas Jina's gateway turns into pydantic models with
_create_pydantic_model_from_schema) and _status.
"""
import asyncio
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _worker import HOST, Checks, jig_executor  # noqa: E402

import grpc  # noqa: E402
import numpy as np  # noqa: E402
from docarray import DocList  # noqa: E402
from docarray.documents import TextDoc  # noqa: E402
from docarray.documents.legacy import LegacyDocument  # noqa: E402
from google.protobuf import empty_pb2, json_format  # noqa: E402
from jina.proto import jina_pb2, jina_pb2_grpc  # noqa: E402
from jina.serve.networking import GrpcConnectionPool  # noqa: E402
from jina.serve.runtimes.helper import _create_pydantic_model_from_schema  # noqa: E402
from jina.types.request.data import DataRequest  # noqa: E402

checks = Checks()


def data_request(endpoint, docs, parameters=None):
    r = DataRequest()
    r.header.exec_endpoint = endpoint
    r.data.docs = docs
    if parameters:
        r.parameters = parameters
    return r


def docs_of(resp, cls=LegacyDocument):
    resp.document_array_cls = DocList[cls]
    return resp.docs


async def pool_checks(name, address):
    pool = GrpcConnectionPool(runtime_name='interop')
    try:
        pool.add_connection(name, address)
        # endpoint discovery through the pool, as a Jina gateway does it
        res = await pool.send_discover_endpoint(name, head=False, timeout=10)
        eps = res[0] if res else None
        checks.check('pool-discovery', eps is not None and '/default' in eps.endpoints and '_jina_dry_run_' in eps.endpoints,
                     f'send_discover_endpoint: endpoints {list(eps.endpoints) if eps else None}')

        # process_single_data: one request
        docs = DocList[LegacyDocument]([LegacyDocument(text='One. Two.'), LegacyDocument(text='Three')])
        resp, _ = await pool.send_requests_once([data_request('/split', docs)], name, timeout=10)
        out = docs_of(resp)
        checks.check('pool-process-single-data', resp.header.status.code == jina_pb2.StatusProto.SUCCESS
                     and [len(d.chunks or []) for d in out] == [2, 1] and [d.id for d in out] == [d.id for d in docs],
                     f'send_requests_once (1 request → process_single_data): chunks {[len(d.chunks or []) for d in out]}')

        # process_data: several requests, as a head sends the parts of a join
        a = DocList[LegacyDocument]([LegacyDocument(id='a', text='First. Second.')])
        b = DocList[LegacyDocument]([LegacyDocument(id='b', text='Third.')])
        resp, _ = await pool.send_requests_once([data_request('/split', a), data_request('/split', b)], name, timeout=10)
        out = docs_of(resp)
        checks.check('pool-process-data', sorted(d.id for d in out) == ['a', 'b'] and
                     sum(len(d.chunks or []) for d in out) == 3,
                     f'send_requests_once (2 requests → process_data): docs {sorted(d.id for d in out)}')

        # the dry-run endpoint the gateway sends for Client.dry_run()
        resp, _ = await pool.send_requests_once([data_request('_jina_dry_run_', DocList[LegacyDocument]([LegacyDocument()]))], name, timeout=10)
        checks.check('pool-dry-run', resp.header.status.code == jina_pb2.StatusProto.SUCCESS, '_jina_dry_run_ succeeds')
    finally:
        await pool.close()


def stub_checks(address):
    with grpc.insecure_channel(address) as ch:
        info = jina_pb2_grpc.JinaInfoRPCStub(ch)._status(empty_pb2.Empty(), timeout=10)
        checks.check('stub-status', 'jig' in info.jina or len(info.jina) > 0, f'_status: jina {dict(info.jina)}')

        eps = jina_pb2_grpc.JinaDiscoverEndpointsRPCStub(ch).endpoint_discovery(empty_pb2.Empty(), timeout=10)
        schemas = json_format.MessageToDict(eps.schemas)
        missing = [e for e in eps.endpoints if e not in schemas]
        checks.check('stub-discovery-entries', not missing, f'a schema entry for every endpoint (missing: {missing})')
        keys = {'input', 'output', 'parameters', 'is_generator', 'is_singleton_doc'}
        bad = {e: sorted(keys ^ set(s)) for e, s in schemas.items() if set(s) != keys}
        checks.check('stub-discovery-keys', not bad, f'every entry has exactly Jina worker keys {sorted(keys)} (off: {bad})')
        # What Jina's gateway does with them (topology_graph.py): build models.
        built = {}
        for ep, s in schemas.items():
            for side in ('input', 'output'):
                m = s[side]
                try:
                    model = _create_pydantic_model_from_schema(json.loads(json.dumps(m['model'])), m['name'], {})
                    built[f'{ep}:{side}'] = model.__name__
                except RecursionError as e:
                    checks.check('stub-discovery-models', False, f'{ep} {side}: {e}')
                    return
        checks.check('stub-discovery-models', len(built) == 2 * len(schemas),
                     f'_create_pydantic_model_from_schema builds every model: {sorted(set(built.values()))}')
        return schemas


def main():
    worker = None
    try:
        worker, port = jig_executor('builtin:Sentencizer', name='split')
        address = f'{HOST}:{port}'
        checks.run('pool', lambda: asyncio.run(pool_checks('split', address)))
        schemas = checks.run('stubs', stub_checks, address)
        if schemas:
            legacy = LegacyDocument.schema()
            m = schemas.get('/default', {}).get('input', {})
            same = m.get('name') == 'LegacyDocument' and set(m.get('model', {}).get('properties', {})) == set(legacy['properties'])
            checks.check('stub-discovery-legacy', same, 'an untyped endpoint publishes docarray\'s LegacyDocument schema')
        worker.stop()

        # A typed jig executor whose documents refer to their own type
        # (HashEmbedder: chunks of the same type).
        worker, port = jig_executor('builtin:HashEmbedder', '--uses-with', '{"dim": 8}', name='emb')
        address = f'{HOST}:{port}'
        checks.run('stubs-typed', stub_checks, address)

        async def embed():
            pool = GrpcConnectionPool(runtime_name='interop')
            try:
                pool.add_connection('emb', address)
                docs = DocList[TextDoc]([TextDoc(text='hello')])
                resp, _ = await pool.send_requests_once([data_request('/x', docs)], 'emb', timeout=10)
                out = docs_of(resp, TextDoc)
                e = np.asarray(out[0].embedding) if out[0].embedding is not None else None
                checks.check('pool-typed', e is not None and e.shape == (8,) and e.dtype == np.float32,
                             f'TextDoc through a typed jig handler: embedding {None if e is None else (e.shape, e.dtype)}')
            finally:
                await pool.close()
        checks.run('pool-typed', lambda: asyncio.run(embed()))
    except Exception as e:  # noqa: BLE001
        checks.check('pool-start', False, f'{type(e).__name__}: {e}')
    finally:
        if worker:
            worker.stop()
    checks.exit()


if __name__ == '__main__':
    main()
