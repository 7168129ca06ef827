"""Shared fixtures: the bundled real AIST++ clip and the optional shared data root."""

import os
from pathlib import Path

import pytest

from ibeat_io.clips import bundled_clip_path, load_clip

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir():
    """The real data root: $IBEAT_DATA, else ../shared/data beside the repo; None if absent."""
    for candidate in (os.environ.get("IBEAT_DATA"), REPO.parent / "shared" / "data"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def networks():
    """The shipped networks, loaded once (stateless: every session keeps its own state)."""
    from ibeat_models import load_networks
    return load_networks()


@pytest.fixture(scope="session")
def aist_clip():
    """Real AIST++ keypoints (view 0 of gBR_sBM_d04_mBR0_ch01: 12 s at 60 fps, 80 BPM)."""
    return load_clip(bundled_clip_path(), view=0)


@pytest.fixture(scope="session")
def data_dir():
    root = shared_data_dir()
    if root is None:
        pytest.skip("shared data directory not found (set IBEAT_DATA)")
    return root


@pytest.fixture
def onnx_export():
    """Skip unless training and ONNX export can run: torch, and onnx, which torch.onnx.export
    needs to write a graph (the shipped graphs run on onnxruntime and need neither)."""
    pytest.importorskip("torch", reason="training needs torch (the optional [train] extra)")
    pytest.importorskip("onnx", reason="ONNX export needs onnx (the optional [train] extra)")
