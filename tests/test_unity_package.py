"""The Unity package (``unity_client/``) is well formed, checked without Unity.

What Unity would refuse or silently break on import: the UPM manifest, a ``.meta`` with a
unique GUID beside every asset (and none left over), assembly definitions whose references
resolve, an engine-free ``Ibeat.Core``, a demo scene whose script references point at the
package's scripts, drum voices named as the server names them, and C# messages generated
from the current ``protos/``.
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "unity_client"
SCENE = PKG / "Samples~" / "Demo" / "IbeatDemo.unity"
#: Assembly references that resolve outside the package: Unity's test framework, and
#: YetAnotherHttpHandler's asmdef by GUID (its name changed between releases, its GUID did not).
EXTERNAL_ASMDEF_REFERENCES = {
    "UnityEngine.TestRunner",
    "UnityEditor.TestRunner",
    "GUID:c3bc0afe4a069b54aa23296f3c18a871",
}
GUID = re.compile(r"^guid: ([0-9a-f]{32})$", re.M)


def _hidden(name):
    return name.startswith(".") or name.endswith("~")


def _assets():
    """Every file and folder Unity imports: ``~`` folders are skipped, except Samples~'s contents."""
    found = []

    def walk(folder, top):
        for child in sorted(folder.iterdir()):
            if child.name.endswith(".meta"):
                continue
            if top and child.name == "Samples~":
                walk(child, False)
                continue
            if _hidden(child.name):
                continue
            found.append(child)
            if child.is_dir():
                walk(child, False)

    walk(PKG, True)
    return found


def _metas():
    return [m for m in sorted(PKG.rglob("*.meta"))
            if not any(_hidden(p) and p != "Samples~" for p in m.relative_to(PKG).parts[:-1])]


def _guid(meta: Path) -> str:
    match = GUID.search(meta.read_text())
    assert match, f"{meta.relative_to(ROOT)} has no 32-hex guid"
    return match.group(1)


def _asmdefs():
    return {p: json.loads(p.read_text()) for p in sorted(PKG.rglob("*.asmdef"))
            if "Tools~" not in p.parts}


def _code(path: Path) -> str:
    """C# source without comments and string literals."""
    text = path.read_text()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return re.sub(r'@?"(?:[^"\\\n]|\\.)*"', '""', text)


def test_manifest_fields():
    manifest = json.loads((PKG / "package.json").read_text())
    assert re.fullmatch(r"com\.[a-z0-9-]+(\.[a-z0-9-]+)+", manifest["name"]), manifest["name"]
    assert manifest["name"] == "com.ibeat.client"
    assert re.fullmatch(r"\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?", manifest["version"]), manifest["version"]
    major, minor = (int(x) for x in manifest["unity"].split("."))
    assert (major, minor) >= (2021, 3)
    assert manifest["displayName"] == "ibeat"
    assert manifest["description"] and manifest["keywords"]
    # The package is under ibeat's own licence.
    project_licence = re.search(r'^license = \{ text = "([^"]+)" \}', (ROOT / "pyproject.toml")
                                .read_text(), re.M).group(1)
    assert manifest["license"] == project_licence
    assert "Apache License" in (PKG / "LICENSE.md").read_text()
    assert manifest["author"]["name"]
    assert manifest["samples"], "the demo sample is listed"
    for sample in manifest["samples"]:
        assert sample["displayName"] and sample["description"]
        assert sample["path"].startswith("Samples~/")
        assert (PKG / sample["path"]).is_dir(), sample["path"]
    for name in ("README.md", "CHANGELOG.md", "LICENSE.md", "Third Party Notices.md"):
        assert (PKG / name).is_file(), name


def test_every_asset_has_a_meta_with_a_unique_guid():
    missing = [str(p.relative_to(PKG)) for p in _assets() if not Path(f"{p}.meta").is_file()]
    assert not missing, f"no .meta (run python3 unity_client/Tools~/metas.py): {missing}"
    seen = {}
    for meta in _metas():
        text = meta.read_text()
        assert text.startswith("fileFormatVersion: 2\n"), meta
        guid = _guid(meta)
        assert guid not in seen, f"{meta.relative_to(PKG)} repeats the guid of {seen[guid]}"
        seen[guid] = meta.relative_to(PKG)
        asset = meta.with_suffix("")
        assert asset.exists(), f"orphaned {meta.relative_to(PKG)}"
        assert ("folderAsset: yes" in text) == asset.is_dir(), meta
    assert len(seen) == len(_assets())


def test_metas_tool_finds_nothing_to_do():
    done = subprocess.run([sys.executable, str(PKG / "Tools~" / "metas.py"), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_asmdef_references_resolve():
    asmdefs = _asmdefs()
    names = [a["name"] for a in asmdefs.values()]
    assert len(names) == len(set(names)), names
    guids = {f"GUID:{_guid(Path(f'{p}.meta'))}" for p in asmdefs}
    for path, asmdef in asmdefs.items():
        for ref in asmdef.get("references", []):
            assert ref in names or ref in guids or ref in EXTERNAL_ASMDEF_REFERENCES, (
                f"{path.relative_to(PKG)} references {ref}")
    by_name = {a["name"]: a for a in asmdefs.values()}
    assert set(by_name) >= {"Ibeat.Core", "Ibeat.Runtime", "Ibeat.Grpc", "Ibeat.Editor",
                            "Ibeat.Samples.Demo"}
    assert by_name["Ibeat.Runtime"]["references"] == ["Ibeat.Core"]  # never Ibeat.Grpc
    assert by_name["Ibeat.Editor"]["includePlatforms"] == ["Editor"]
    # Test assemblies: Editor-only EditMode tests of Core; PlayMode tests of the components
    # (any platform, so no UnityEditor.TestRunner), compiled only in a project that lists the
    # package in "testables".
    for name, platforms in (("Ibeat.Core.Tests", ["Editor"]), ("Ibeat.Runtime.Tests", [])):
        tests = by_name[name]
        assert tests["includePlatforms"] == platforms, name
        assert tests["overrideReferences"] is True and tests["precompiledReferences"] == ["nunit.framework.dll"]
        assert tests["defineConstraints"] == ["UNITY_INCLUDE_TESTS"] and tests["autoReferenced"] is False
    assert by_name["Ibeat.Runtime.Tests"]["references"] == ["Ibeat.Runtime", "Ibeat.Core",
                                                           "UnityEngine.TestRunner"]
    grpc = by_name["Ibeat.Grpc"]
    assert grpc["defineConstraints"] == ["IBEAT_GRPC"]
    assert {"name": "com.cysharp.yetanotherhttphandler", "expression": "0.0.0",
            "define": "IBEAT_GRPC"} in grpc["versionDefines"]
    assert grpc["overrideReferences"] is True
    assert set(grpc["precompiledReferences"]) == {"Google.Protobuf.dll", "Grpc.Net.Client.dll",
                                                  "Grpc.Core.Api.dll"}


def test_core_is_engine_free():
    core = json.loads((PKG / "Runtime" / "Core" / "Ibeat.Core.asmdef").read_text())
    assert core["noEngineReferences"] is True and core["references"] == []
    sources = sorted((PKG / "Runtime" / "Core").glob("*.cs")) + sorted((PKG / "Tests" / "Editor").glob("*.cs"))
    assert sources
    bad = [str(p.relative_to(PKG)) for p in sources if re.search(r"\bUnity(Engine|Editor)\b", _code(p))]
    assert not bad, f"engine code in Ibeat.Core or its tests: {bad}"


def test_runtime_reaches_grpc_only_through_the_registry():
    for path in sorted((PKG / "Runtime").glob("*.cs")):
        code = _code(path)
        assert not re.search(r"\b(Grpc\.(Core|Net)|Google\.Protobuf|Cysharp)\b", code), path.name
    for path in sorted((PKG / "Runtime" / "Grpc").glob("*.cs")):
        text = path.read_text()
        assert text.startswith("#if IBEAT_GRPC") and text.rstrip().endswith("#endif"), path.name


def test_component_scripts_are_named_after_their_class():
    # Unity finds a MonoBehaviour by its file name: class Foo must live in Foo.cs.
    for path in sorted(PKG.rglob("*.cs")):
        if "Tools~" in path.parts:
            continue
        for match in re.finditer(r"class (\w+)\s*:\s*(MonoBehaviour|PoseSourceBehaviour)\b", _code(path)):
            assert match.group(1) == path.stem, f"{path.relative_to(PKG)} declares {match.group(1)}"


def test_demo_scene_references_resolve():
    text = SCENE.read_text()
    assert text.startswith("%YAML 1.1\n%TAG !u! tag:unity3d.com,2011:\n")
    headers = re.findall(r"^--- !u!(\d+) &(\d+)$", text, re.M)
    ids = [int(file_id) for _, file_id in headers]
    assert len(ids) == len(set(ids)) and len(headers) == text.count("\n--- ")
    # Local references point at an object of this file.
    for ref in re.findall(r"\{fileID: (\d+)\}", text):
        assert int(ref) == 0 or int(ref) in ids, f"dangling fileID {ref}"
    metas = {_guid(m): m.with_suffix("") for m in _metas()}
    scripts = re.findall(r"m_Script: \{fileID: 11500000, guid: ([0-9a-f]{32}), type: 3\}", text)
    assert len(scripts) == text.count("m_Script:") >= 6
    used = set()
    for guid in scripts:
        assert guid in metas and metas[guid].suffix == ".cs", f"script guid {guid} is no .cs of the package"
        used.add(metas[guid].stem)
    assert used >= {"IbeatClient", "ExternalPoseSource", "DrumKitPlayer", "LimbPulse", "DemoDancer"}
    for guid in re.findall(r"guid: ([0-9a-f]{32})", text):
        assert guid in metas, f"guid {guid} resolves to nothing in the package"


def test_drum_voices_match_the_servers_classes():
    from ibeat_core.drums import DRUM_CLASSES

    player = (PKG / "Runtime" / "DrumKitPlayer.cs").read_text()
    block = re.search(r"DrumClasses =\s*\{(.*?)\};", player, re.S).group(1)
    assert tuple(re.findall(r'"(\w+)"', block)) == DRUM_CLASSES
    scene = SCENE.read_text()
    assert tuple(re.findall(r"^  - drum: (\w+)$", scene, re.M)) == DRUM_CLASSES
    metas = {_guid(m): m.with_suffix("") for m in _metas()}
    clips = re.findall(r"clip: \{fileID: 8300000, guid: ([0-9a-f]{32}), type: 3\}", scene)
    assert [metas[g].name for g in clips] == [f"{name}.wav" for name in DRUM_CLASSES]


@pytest.mark.skipif(shutil.which("protoc") is None, reason="no protoc on PATH")
def test_csharp_messages_are_up_to_date():
    from ibeat_grpc.codegen import main

    assert main(["--csharp", "--check"]) == 0, "stale: run python -m ibeat_grpc.codegen --csharp"


def test_csharp_messages_embed_the_current_proto(tmp_path):
    # Needs no protoc: the descriptor the C# embeds must be the one grpc_tools compiles now.
    pytest.importorskip("grpc_tools")
    from google.protobuf import descriptor_pb2
    from grpc_tools import protoc

    from ibeat_grpc.codegen import (CSHARP_OUT_DIR, PROTO_ROOT, PROTOS, comparable_descriptor,
                                    embedded_descriptor)

    out = tmp_path / "ibeat.pb"
    assert protoc.main(["grpc_tools.protoc", f"-I{PROTO_ROOT}", f"--descriptor_set_out={out}",
                        *(str(PROTO_ROOT / p) for p in PROTOS)]) == 0
    current = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file[0]
    embedded = comparable_descriptor(embedded_descriptor(CSHARP_OUT_DIR / "Ibeat.cs"))
    assert embedded == comparable_descriptor(current.SerializeToString()), (
        "Ibeat.cs is stale: run python -m ibeat_grpc.codegen --csharp")
