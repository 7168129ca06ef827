"""Regenerate the Python gRPC code from ``protos/`` (the one codegen script).

Run from a source checkout, with ``grpcio-tools`` installed (the ``test`` extra)::

    python -m ibeat_grpc.codegen            # rewrites ibeat_grpc/v1/ibeat_pb2*.py(i)
    python -m ibeat_grpc.codegen --check    # exit 1 if regenerating would change them

``grpc_tools.protoc`` runs with ``-I protos`` (as grpc's route_guide ``run_codegen.py``
does), so the descriptor keeps the name ``ibeat/v1/ibeat.proto`` that reflection
serves; the one import protoc writes for that path (``from ibeat.v1 import``) is
then pointed at this package (``from ibeat_grpc.v1 import``). The generated files
are committed and never edited by hand; ``tests/test_grpc.py`` checks that
regenerating gives identical files.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

__all__ = ["PROTO_ROOT", "OUT_DIR", "PROTOS", "generate"]

#: Root of the shared proto tree (``-I``).
PROTO_ROOT = Path(__file__).resolve().parents[1] / "protos"
#: Where the generated modules live.
OUT_DIR = Path(__file__).resolve().parent / "v1"
#: Protos to compile, relative to PROTO_ROOT.
PROTOS = ("ibeat/v1/ibeat.proto",)
_GENERATED = ("ibeat_pb2.py", "ibeat_pb2.pyi", "ibeat_pb2_grpc.py")


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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ibeat_grpc.codegen", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true",
                        help="regenerate into a temporary folder and fail if anything differs")
    args = parser.parse_args(argv)
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
