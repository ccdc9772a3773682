"""apply_mask with a complex mask and min_gain: np.maximum compares complex numbers by their real part, so a mask
value 0.1+5j floored at 0.2 came out 0.2+0j, its phase and magnitude lost without a word (configure accepted it).
It is refused at configure now, as a complex mask with an activation is."""

import numpy as np
import pytest
from wavegraph.nodes.dsp.spectral import ApplyMask
from wavegraph.pipeline.spec import SpecError, StreamSpec

SPEC = StreamSpec("features", 100.0, (5,), "complex64")


def test_a_complex_mask_with_min_gain_is_refused_naming_the_fix():
    with pytest.raises(SpecError, match="min_gain bounds a real mask") as e:
        ApplyMask(min_gain=0.2).configure({"in": SPEC, "mask": SPEC})
    assert "leave min_gain out" in e.value.hint


def test_a_complex_mask_without_min_gain_and_a_real_mask_with_it_still_configure():
    ApplyMask().configure({"in": SPEC, "mask": SPEC})
    real = StreamSpec("features", 100.0, (5,), "float32")
    node = ApplyMask(min_gain=0.2)
    node.configure({"in": SPEC, "mask": real})
    assert np.all(node._mask(np.zeros((1, 5), np.float32)) == np.float32(0.2))
