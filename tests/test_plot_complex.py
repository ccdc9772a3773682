"""`wavegraph plot` of a recorded stft: the .npz was drawn as its real part (numpy's ComplexWarning said so, the
picture did not) and the .csv failed ("could not convert string to float: '(3.27+0j)'"). Both are now drawn as
the magnitude in dB, from the same values."""

import warnings

import numpy as np
import pytest
from wavegraph.nodes.io.plot import load, plot
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec


@pytest.fixture
def stft_rows():
    rng = np.random.default_rng(3)
    return (rng.standard_normal((40, 5)) + 1j * rng.standard_normal((40, 5))).astype(np.complex64)


def _record(path, rows):
    from wavegraph.nodes.io.recorder import Recorder

    rec = Recorder(path=str(path))
    rec.configure({"in": StreamSpec("features", 125.0, (5,), "complex64")})
    rec.process({"in": Chunk(rows, 0.0)})
    rec.close()


@pytest.mark.parametrize("suffix", [".npz", ".csv"])
def test_a_recorded_stft_is_read_complex_and_drawn_as_its_magnitude(tmp_path, stft_rows, suffix):
    path = tmp_path / f"stft{suffix}"
    _record(path, stft_rows)
    rec = load(path)
    np.testing.assert_allclose(np.asarray(rec["data"]).reshape(40, 5), stft_rows, rtol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's ComplexWarning: the imaginary part dropped
        out = plot(path, tmp_path / "p.png")
    assert out.stat().st_size > 1000
