#!/usr/bin/env python3
"""Write the missing Unity ``.meta`` files of the com.ibeat.client package.

Unity needs a ``.meta`` beside every file and folder of a package (an immutable
package cannot get one written on import), and the GUID in it is how scenes and
asmdefs refer to the asset. This gives each a stable GUID, the md5 of its path
relative to the package root (32 hex digits), and the importer Unity would pick
for its type. An existing ``.meta`` is never rewritten, so a GUID never changes.

Folders ending in ``~`` are hidden from Unity and skipped (``Tools~``,
``Documentation~``), except ``Samples~``: its contents are copied into a
project when a sample is imported, ``.meta`` files included.

    python3 unity_client/Tools~/metas.py           # write the missing ones, list them
    python3 unity_client/Tools~/metas.py --check   # exit 1 if any is missing or orphaned
"""

import argparse
import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_TAIL = "  externalObjects: {}\n  userData: \n  assetBundleName: \n  assetBundleVariant: \n"
_MONO = ("MonoImporter:\n  externalObjects: {}\n  serializedVersion: 2\n  defaultReferences: []\n"
         "  executionOrder: 0\n  icon: {instanceID: 0}\n  userData: \n  assetBundleName: \n"
         "  assetBundleVariant: \n")
# Drum samples: PCM, decompressed on load (no decode latency at play time), not normalised
# (normalising would change the kit's balance between drums).
_AUDIO = ("AudioImporter:\n  externalObjects: {}\n  serializedVersion: 6\n  defaultSettings:\n"
          "    loadType: 0\n    sampleRateSetting: 0\n    sampleRateOverride: 44100\n"
          "    compressionFormat: 0\n    quality: 1\n    conversionMode: 0\n"
          "  platformSettingOverrides: {}\n  forceToMono: 0\n  normalize: 0\n  preloadAudioData: 1\n"
          "  loadInBackground: 0\n  ambisonic: 0\n  3D: 1\n  userData: \n  assetBundleName: \n"
          "  assetBundleVariant: \n")
_BY_SUFFIX = {
    ".cs": _MONO,
    ".asmdef": "AssemblyDefinitionImporter:\n" + _TAIL,
    ".asmref": "AssemblyDefinitionReferenceImporter:\n" + _TAIL,
    ".md": "TextScriptImporter:\n" + _TAIL,
    ".json": "TextScriptImporter:\n" + _TAIL,
    ".txt": "TextScriptImporter:\n" + _TAIL,
    ".xml": "TextScriptImporter:\n" + _TAIL,
    ".wav": _AUDIO,
}


def guid_for(rel: str) -> str:
    """Stable GUID of the asset at package-relative POSIX path ``rel``."""
    return hashlib.md5(rel.encode("utf-8")).hexdigest()


def meta_text(path: Path) -> str:
    rel = path.relative_to(ROOT).as_posix()
    head = f"fileFormatVersion: 2\nguid: {guid_for(rel)}\n"
    if path.is_dir():
        return head + "folderAsset: yes\nDefaultImporter:\n" + _TAIL
    if rel == "package.json":
        return head + "PackageManifestImporter:\n" + _TAIL
    return head + _BY_SUFFIX.get(path.suffix.lower(), "DefaultImporter:\n" + _TAIL)


def _hidden(name: str) -> bool:
    return name.startswith(".") or name.endswith("~")


def assets(root: Path = ROOT):
    """Every file and folder of the package that Unity imports, in a stable order."""
    def walk(folder: Path, top: bool):
        for child in sorted(folder.iterdir()):
            name = child.name
            if name.endswith(".meta"):
                continue
            if top and name == "Samples~" and child.is_dir():
                yield from walk(child, False)  # the folder itself is hidden, its contents are not
                continue
            if _hidden(name):
                continue
            yield child
            if child.is_dir():
                yield from walk(child, False)
    yield from walk(root, True)


def orphans(root: Path = ROOT):
    """``.meta`` files whose asset is gone."""
    found = []
    for meta in sorted(root.rglob("*.meta")):
        rel = meta.relative_to(root).parts
        if any(_hidden(p) and p != "Samples~" for p in rel[:-1]):
            continue
        if not meta.with_suffix("").exists():
            found.append(meta)
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a .meta is missing or orphaned")
    args = parser.parse_args(argv)
    missing = [p for p in assets() if not Path(str(p) + ".meta").is_file()]
    stale = orphans()
    if args.check:
        for p in missing:
            print(f"missing: {p.relative_to(ROOT)}.meta", file=sys.stderr)
        for p in stale:
            print(f"orphaned: {p.relative_to(ROOT)}", file=sys.stderr)
        return 1 if missing or stale else 0
    for p in missing:
        Path(str(p) + ".meta").write_text(meta_text(p))
        print(f"{p.relative_to(ROOT)}.meta")
    for p in stale:
        print(f"orphaned (not removed): {p.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
