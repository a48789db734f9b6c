"""Serve an echo flow in real Jina 3.20.2 for `make bench-jina`.

A chain of N Python echo Executors behind a Jina gateway that serves gRPC and
HTTP on 127.0.0.1. The Go driver (interop/bench) starts this script, reads
lines from its stdout and tells it to stop by closing its stdin:

    LISTENING grpc=PORT http=PORT        (after `import jina`, before the flow)
    READY start=SECONDS                  (Flow.start() returned: every executor
                                          and the gateway answer)
    STOPPED stop=SECONDS                 (Flow.close() returned)

SECONDS are measured inside Python around Flow.start()/close(), so they leave
out the interpreter start and the imports; the driver also measures the
whole process from exec to first answer and from "stop" to exit.

Usage: $JINA_PY jina_flow.py --executors N --grpc-port P --http-port Q
"""
import argparse
import sys
import time

from docarray import DocList
from docarray.documents import TextDoc
from jina import Executor, Flow, requests


class Echo(Executor):
    """Returns the documents it is given: the Python twin of builtin:Echo."""

    @requests(on='/bench')
    def echo(self, docs: DocList[TextDoc], **kwargs) -> DocList[TextDoc]:
        return docs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--executors', type=int, default=1)
    ap.add_argument('--grpc-port', type=int, required=True)
    ap.add_argument('--http-port', type=int, required=True)
    a = ap.parse_args()

    print(f'LISTENING grpc={a.grpc_port} http={a.http_port}', flush=True)
    f = Flow(protocol=['grpc', 'http'], port=[a.grpc_port, a.http_port], host='127.0.0.1')
    for i in range(a.executors):
        f = f.add(name=f'echo{i}', uses=Echo)
    t0 = time.perf_counter()
    f.start()
    print(f'READY start={time.perf_counter() - t0:.6f}', flush=True)
    # Serve until the driver closes stdin (or dies: the pipe closes too).
    sys.stdin.read()
    t1 = time.perf_counter()
    f.close()
    print(f'STOPPED stop={time.perf_counter() - t1:.6f}', flush=True)


if __name__ == '__main__':
    main()
