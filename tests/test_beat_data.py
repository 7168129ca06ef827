"""The beat-data split: what trains, what is held out, and what may ship."""

import pytest

from ibeat_io.beat_data import PRODUCT_SOURCES, VALIDATION, build_beat_examples, split_of


def test_shipped_networks_never_train_on_unlicensed_data():
    # Dance-with-Melody has no licence for a product: evaluation only.
    assert "dwm" not in PRODUCT_SOURCES
    assert set(PRODUCT_SOURCES) == {"aistpp", "aistpp3d", "salsa"}


def test_splits_hold_out_whole_choreographies_dancers_and_takes():
    assert split_of("aistpp", "gBR_sBM_cAll_d04_mBR0_ch09") == "validation"
    assert split_of("aistpp", "gBR_sBM_cAll_d04_mBR0_ch01") == "train"
    assert split_of("aistpp3d", "gPO_sBM_cAll_d12_mPO2_ch01") == "validation"  # dancer d12
    assert split_of("aistpp3d", "gPO_sBM_cAll_d10_mPO2_ch01") == "train"
    assert split_of("salsa", "60_13_scaled") == split_of("salsa", "61_13_scaled") == "validation"
    assert split_of("dwm", "DANCE_W_3") == "validation" and split_of("dwm", "DANCE_W_1") == "train"


@pytest.mark.slow
def test_aist3d_examples_keep_their_dancers_apart(data_dir):
    train = build_beat_examples(data_dir, split="train", sources=("aistpp3d",), mocap_views=1,
                                progress=False)
    held = build_beat_examples(data_dir, split="validation", sources=("aistpp3d",),
                               mocap_views=1, progress=False)
    if not train:
        pytest.skip("aistpp-keypoints3d not in the shared data")
    dancers = {side: {e.sequence.split("_")[3] for e in examples}
               for side, examples in (("train", train), ("held", held))}
    assert dancers["held"] <= set(VALIDATION["aistpp3d"]) and not dancers["train"] & dancers["held"]
    assert all(e.source == "aistpp3d" and e.tempo_bpm in range(80, 140) for e in train + held)
