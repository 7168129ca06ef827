"""Regenerate the gRPC code from ``protos/`` (the one codegen script): Python and C#.

Run from a source checkout, with ``grpcio-tools`` installed (the ``test`` extra)::

    python -m ibeat_grpc.codegen            # rewrites ibeat_grpc/v1/ibeat_pb2*.py(i)
    python -m ibeat_grpc.codegen --check    # exit 1 if regenerating would change them
    python -m ibeat_grpc.codegen --csharp   # rewrites the Unity package's C# messages
    python -m ibeat_grpc.codegen --csharp --check

``grpc_tools.protoc`` runs with ``-I protos`` (as grpc's route_guide ``run_codegen.py``
does), so the descriptor keeps the name ``ibeat/v1/ibeat.proto`` that reflection
serves; the one import protoc writes for that path (``from ibeat.v1 import``) is
then pointed at this package (``from ibeat_grpc.v1 import``). The generated files
are committed and never edited by hand; ``tests/test_grpc.py`` checks that
regenerating gives identical files.

The C# messages of the Unity package's optional gRPC transport
(``unity_client/Runtime/Grpc/Generated/Ibeat.cs``, namespace ``Ibeat.V1``) come
from a ``protoc`` on ``PATH`` (or ``$PROTOC``; ``grpc_tools`` has no C# generator),
``protoc -I protos --csharp_out=...``. protoc's C# output changes between protoc
versions, so ``--csharp --check`` compares the files byte for byte only with the
protoc that wrote them (:data:`CSHARP_PROTOC_VERSION`); with another version it
compares the protocol itself, the file descriptor the C# code embeds. Without
any protoc it says so and exits 0; ``tests/test_unity_package.py`` also checks the
embedded descriptor against ``grpc_tools``' own, with no protoc at all.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["PROTO_ROOT", "OUT_DIR", "PROTOS", "CSHARP_OUT_DIR", "CSHARP_PROTOC_VERSION",
           "generate", "generate_csharp", "find_protoc", "protoc_version", "embedded_descriptor",
           "comparable_descriptor"]

#: Root of the shared proto tree (``-I``).
PROTO_ROOT = Path(__file__).resolve().parents[1] / "protos"
#: Where the generated modules live.
OUT_DIR = Path(__file__).resolve().parent / "v1"
#: Protos to compile, relative to PROTO_ROOT.
PROTOS = ("ibeat/v1/ibeat.proto",)
_GENERATED = ("ibeat_pb2.py", "ibeat_pb2.pyi", "ibeat_pb2_grpc.py")
#: Where the Unity package's generated C# messages live (the ``Ibeat.Grpc`` assembly).
CSHARP_OUT_DIR = PROTO_ROOT.parent / "unity_client" / "Runtime" / "Grpc" / "Generated"
#: The protoc that wrote the committed C# (Debian's protobuf-compiler 3.21).
CSHARP_PROTOC_VERSION = "3.21.12"
_CSHARP_GENERATED = ("Ibeat.cs",)


def generate(out_dir=OUT_DIR) -> list[Path]:
    """Compile :data:`PROTOS` into ``out_dir`` with fixed imports; return the files written."""
    from grpc_tools import protoc
    import grpc_tools

    include = Path(grpc_tools.__file__).parent / "_proto"
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        args = ["grpc_tools.protoc", f"-I{PROTO_ROOT}", f"-I{include}", f"--python_out={tmp}",
                f"--pyi_out={tmp}", f"--grpc_python_out={tmp}",
                *(str(PROTO_ROOT / p) for p in PROTOS)]
        if protoc.main(args) != 0:
            raise RuntimeError(f"protoc failed: {' '.join(args)}")
        written = []
        for name in _GENERATED:
            text = (Path(tmp) / "ibeat" / "v1" / name).read_text()
            text = text.replace("from ibeat.v1 import", "from ibeat_grpc.v1 import")
            path = out_dir / name
            path.write_text(text)
            written.append(path)
    return written


def find_protoc():
    """Path of the ``protoc`` to run for C# (``$PROTOC``, else ``protoc`` on PATH), or None."""
    return os.environ.get("PROTOC") or shutil.which("protoc")


def protoc_version(protoc) -> str:
    """``"3.21.12"`` for a protoc that prints ``libprotoc 3.21.12``."""
    out = subprocess.run([protoc, "--version"], check=True, capture_output=True, text=True).stdout
    return out.strip().split()[-1]


def generate_csharp(out_dir=CSHARP_OUT_DIR, *, protoc=None) -> list[Path]:
    """Compile :data:`PROTOS` to C# into ``out_dir`` with ``protoc``; return the files written."""
    protoc = protoc or find_protoc()
    if not protoc:
        raise RuntimeError("no protoc on PATH (apt install protobuf-compiler, or set $PROTOC)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        args = [protoc, f"-I{PROTO_ROOT}", f"--csharp_out={tmp}",
                *(str(PROTO_ROOT / p) for p in PROTOS)]
        done = subprocess.run(args, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"protoc failed: {' '.join(args)}\n{done.stderr}")
        written = []
        for name in _CSHARP_GENERATED:
            path = out_dir / name
            path.write_bytes((Path(tmp) / name).read_bytes())
            written.append(path)
    return written


def embedded_descriptor(cs_path) -> bytes:
    """The serialized ``FileDescriptorProto`` a protoc-generated C# file embeds (base64)."""
    text = Path(cs_path).read_text()
    match = re.search(r"FromBase64String\(\s*string\.Concat\((.*?)\)\);", text, re.S)
    if not match:
        raise ValueError(f"{cs_path}: no embedded descriptor")
    return base64.b64decode("".join(re.findall(r'"([A-Za-z0-9+/=]*)"', match.group(1))))


def comparable_descriptor(data: bytes):
    """A ``FileDescriptorProto`` from serialized bytes, ``json_name`` cleared (protoc embeds
    descriptors without it but writes it into descriptor sets), for comparing protocols."""
    from google.protobuf import descriptor_pb2

    proto = descriptor_pb2.FileDescriptorProto.FromString(data)
    stack = list(proto.message_type)
    while stack:
        message = stack.pop()
        for field in message.field:
            field.ClearField("json_name")
        stack.extend(message.nested_type)
    return proto


def _check_csharp() -> int:
    protoc = find_protoc()
    if not protoc:
        print("no protoc on PATH: C# check skipped (apt install protobuf-compiler, or set $PROTOC)",
              file=sys.stderr)
        return 0
    version = protoc_version(protoc)
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate_csharp(tmp, protoc=protoc)
        if version == CSHARP_PROTOC_VERSION:
            stale = [p.name for p in fresh if not (CSHARP_OUT_DIR / p.name).is_file()
                     or (CSHARP_OUT_DIR / p.name).read_bytes() != p.read_bytes()]
        else:
            print(f"protoc {version} is not the {CSHARP_PROTOC_VERSION} that wrote the C#: "
                  "comparing the embedded descriptors only", file=sys.stderr)
            stale = [p.name for p in fresh if not (CSHARP_OUT_DIR / p.name).is_file()
                     or comparable_descriptor(embedded_descriptor(CSHARP_OUT_DIR / p.name))
                     != comparable_descriptor(embedded_descriptor(p))]
    if stale:
        print(f"generated C# is stale: {', '.join(stale)}; run python -m ibeat_grpc.codegen --csharp",
              file=sys.stderr)
        return 1
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ibeat_grpc.codegen", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true",
                        help="regenerate into a temporary folder and fail if anything differs")
    parser.add_argument("--csharp", action="store_true",
                        help="the Unity package's C# messages (needs protoc on PATH) instead of Python")
    args = parser.parse_args(argv)
    if args.csharp:
        if args.check:
            return _check_csharp()
        if not find_protoc():
            print("no protoc on PATH: apt install protobuf-compiler, or set $PROTOC", file=sys.stderr)
            return 2
        for path in generate_csharp():
            print(path)
        return 0
    if not args.check:
        for path in generate():
            print(path)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        stale = [p.name for p in generate(tmp)
                 if not (OUT_DIR / p.name).is_file()
                 or (OUT_DIR / p.name).read_bytes() != p.read_bytes()]
    if stale:
        print(f"generated code is stale: {', '.join(stale)}; run python -m ibeat_grpc.codegen",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
