"""DSP nodes attacked at their numerical edges, against what an MNE/scipy/ezmsg-sigproc user trusts. Each test is a
defect this sweep found; it failed before its fix. What was already right is listed in the commit messages."""

import numpy as np
import pytest
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import SpecError, signal_spec

SPEC = signal_spec(1000.0, ["E0", "E1"])


@pytest.mark.parametrize(
    "params,harmonic",
    [
        (dict(freq=50.0, quality=0.1), 1),  # -3 dB bandwidth 500 Hz = Nyquist: a pole on the unit circle
        (dict(freq=400.0, quality=0.5), 1),  # 800 Hz wide: poles outside it, the output grows to 1e308
        (dict(freq=1.0, quality=0.001), 1),
        (dict(freq=100.0, quality=0.3, harmonics=2), 2),  # 200 Hz / 0.3 = 667 Hz
    ],
)
def test_a_notch_wider_than_nyquist_is_refused_not_run_unstable(params, harmonic):
    # iirnotch(f, Q) is unstable once its bandwidth f/Q reaches Nyquist; the node ran it: on unit noise the output
    # reached 1e308, then `overflow` reset it again and again, and every sample came out wrong or zeroed.
    node = lookup("notch")(**params)
    with pytest.raises(SpecError, match=rf"harmonic {harmonic}.*bandwidth.*quality") as e:
        node.configure({"in": SPEC})
    need = harmonic * params["freq"] / 500.0
    assert f"{need:g}" in str(e.value)  # the smallest quality that works, said as the fix
    ok = lookup("notch")(**{**params, "quality": 1.5 * need})
    ok.configure({"in": SPEC})
    y = ok.process({"in": Chunk(np.random.default_rng(0).standard_normal((2, 20_000)), 0.0)})["out"].data
    assert np.abs(y).max() < 20 and not ok.counters


def test_an_unstable_iir_design_is_a_spec_error_whatever_the_node():
    # The generic check (every IIR node and the filter bank run SosKernel): a section with a pole outside the unit
    # circle is refused at configure, naming the pole.
    from wavegraph.nodes.dsp.filters import SosKernel

    sos = np.array([[1.0, 0.0, 0.0, 1.0, -2.1, 1.1]])  # poles 1.1 and 1.0
    with pytest.raises(SpecError, match="unstable.*pole.*1.1"):
        SosKernel(sos, np.float64)
