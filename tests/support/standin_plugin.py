"""A stand-in provider plugin: an executable that speaks enough of the plugin protocol for a preview.

Like a real `pulumi-resource-NAME` it prints its gRPC port on stdout and answers
GetPluginInfo with its version. For a preview it also accepts its configuration,
checks each resource's inputs (with `validator`, a "module:function" taking
(type token, name, inputs) and returning problems, the check fails like the
provider's own would) and records every check in `log` as one JSON line.
Nothing is ever created: it declines Create.
"""

from __future__ import annotations

import io
import os
import sys
import tarfile
from pathlib import Path

_SCRIPT = '''#!{python}
import json, sys, threading
from concurrent import futures
sys.path.insert(0, {root!r})
import grpc
from google.protobuf import empty_pb2, json_format
from pulumi.runtime.proto import plugin_pb2, provider_pb2, provider_pb2_grpc

VALIDATOR, LOG = {validator!r}, {log!r}

def problems(urn, inputs):
    if not VALIDATOR:
        return []
    module, func = VALIDATOR.split(":")
    __import__(module)
    token, name = urn.split("::")[-2].split("$")[-1], urn.split("::")[-1]
    return getattr(sys.modules[module], func)(token, name, inputs)

class Standin(provider_pb2_grpc.ResourceProviderServicer):
    def GetPluginInfo(self, request, context):
        return plugin_pb2.PluginInfo(version={version!r})

    def CheckConfig(self, request, context):
        return provider_pb2.CheckResponse(inputs=request.news)

    def DiffConfig(self, request, context):
        return provider_pb2.DiffResponse(changes=provider_pb2.DiffResponse.DIFF_NONE)

    def Configure(self, request, context):
        return provider_pb2.ConfigureResponse(acceptSecrets=True, acceptResources=True, acceptOutputs=True)

    def Check(self, request, context):
        inputs = json_format.MessageToDict(request.news)
        found = problems(request.urn, inputs)
        if LOG:
            with open(LOG, "a") as handle:
                handle.write(json.dumps({{"urn": request.urn, "problems": found}}) + "\\n")
        failures = [provider_pb2.CheckFailure(property="", reason=p) for p in found]
        return provider_pb2.CheckResponse(inputs=request.news, failures=failures)

    def Diff(self, request, context):
        return provider_pb2.DiffResponse(changes=provider_pb2.DiffResponse.DIFF_NONE)

    def Create(self, request, context):
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "a stand-in creates nothing")

    def Cancel(self, request, context):
        return empty_pb2.Empty()

server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
provider_pb2_grpc.add_ResourceProviderServicer_to_server(Standin(), server)
port = server.add_insecure_port("127.0.0.1:0")
server.start()
print(port, flush=True)
threading.Event().wait()
'''
ROOT = str(Path(__file__).resolve().parents[2])


def refuse(token: str, name: str, inputs: dict) -> list[str]:
    """A validator that turns every resource down, for a preview that must fail inside the engine."""
    return [f"the stand-in provider refuses {name}"]


def script(version: str, *, validator: str = "", log: str = "") -> str:
    return _SCRIPT.format(python=sys.executable, root=ROOT, version=version, validator=validator, log=log)


def write_plugin(folder: Path, name: str, version: str, **options: str) -> Path:
    """An executable `pulumi-resource-NAME` in `folder` that reports `version`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"pulumi-resource-{name}"
    path.write_text(script(version, **options))
    os.chmod(path, 0o755)
    return path


def write_archive(folder: Path, name: str, version: str, asset: str, **options: str) -> Path:
    """A release-style archive (`asset`, e.g. pulumi-resource-vercel-v5.21.1-linux-amd64.tar.gz)
    holding the stand-in, for `pulumi plugin install --file`."""
    folder.mkdir(parents=True, exist_ok=True)
    data = script(version, **options).encode()
    path = folder / asset
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(f"pulumi-resource-{name}")
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
    return path
