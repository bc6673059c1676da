"""A stand-in provider plugin: an executable that speaks just enough of the plugin protocol.

Like a real `pulumi-resource-NAME`, it prints its gRPC port on stdout and answers
GetPluginInfo with its version; nothing else is implemented.
"""

from __future__ import annotations

import io
import os
import sys
import tarfile
from pathlib import Path

_SCRIPT = '''#!{python}
import sys, threading
from concurrent import futures
import grpc
from pulumi.runtime.proto import plugin_pb2, provider_pb2_grpc

class Standin(provider_pb2_grpc.ResourceProviderServicer):
    def GetPluginInfo(self, request, context):
        return plugin_pb2.PluginInfo(version={version!r})

server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
provider_pb2_grpc.add_ResourceProviderServicer_to_server(Standin(), server)
port = server.add_insecure_port("127.0.0.1:0")
server.start()
print(port, flush=True)
threading.Event().wait()
'''


def write_plugin(folder: Path, name: str, version: str) -> Path:
    """An executable `pulumi-resource-NAME` in `folder` that reports `version`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"pulumi-resource-{name}"
    path.write_text(_SCRIPT.format(python=sys.executable, version=version))
    os.chmod(path, 0o755)
    return path


def write_archive(folder: Path, name: str, version: str, asset: str) -> Path:
    """A release-style archive (`asset`, e.g. pulumi-resource-vercel-v5.21.1-linux-amd64.tar.gz)
    holding the stand-in, for `pulumi plugin install --file`."""
    folder.mkdir(parents=True, exist_ok=True)
    script = _SCRIPT.format(python=sys.executable, version=version).encode()
    path = folder / asset
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(f"pulumi-resource-{name}")
        info.size, info.mode = len(script), 0o755
        tar.addfile(info, io.BytesIO(script))
    return path
