"""file_source picks by position, as MNE's picks and pick_channels take them: `--set src.picks=[1]` on a stereo
WAV (whose channels are only ch0, ch1) was refused with pydantic's "Input should be a valid string; fix: give a
list[str] | None", naming neither the channels nor that a position is not taken."""

import numpy as np
import pytest
import soundfile as sf
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.pipeline.spec import SpecError


@pytest.fixture
def stereo(tmp_path):
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (800, 2)).astype(np.float32)
    sf.write(tmp_path / "st.wav", x, 8000, subtype="FLOAT")
    return tmp_path / "st.wav", x


def _first(node):
    node.configure({})
    return node.read()["out"].data


@pytest.mark.parametrize("pick", [1, -1])
def test_a_position_picks_that_channel(stereo, pick):
    path, x = stereo
    node = FileSource(path=str(path), picks=[pick], chunk_size=100)
    np.testing.assert_array_equal(_first(node)[0], x[:100, 1])
    assert node.out_specs["out"].channel_names == ("ch1",)


def test_positions_and_names_mix_and_a_position_out_of_range_names_the_channels(stereo):
    path, x = stereo
    both = _first(FileSource(path=str(path), picks=["ch1", 0], chunk_size=100))
    np.testing.assert_array_equal(both, x[:100, ::-1].T)
    with pytest.raises(SpecError, match=r"channel position 2 is out of range.*0\.\.1 or a name \(ch0, ch1\)"):
        FileSource(path=str(path), picks=[2]).configure({})
