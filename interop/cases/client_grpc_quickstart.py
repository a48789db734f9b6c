"""Jina 3.20.2's Client over gRPC -> jig gateway (`jig up examples/quickstart/flow.yml`).

Run: $JINA_PY interop/cases/client_grpc_quickstart.py with $JIG set, cwd = repo root.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _jig import jina_client_quickstart_checks  # noqa: E402

if __name__ == '__main__':
    jina_client_quickstart_checks("grpc")
