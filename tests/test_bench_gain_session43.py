"""`wavegraph bench enhance --input-gain-db`: ours run at the live graph's setting (auto) or a fixed gain, checked as
the enhancer node checks it, before anything runs (session 43)."""

from __future__ import annotations

import numpy as np
import pytest
from wavegraph.benchmarks.enhance import main as bench
from wavegraph.benchmarks.enhance_methods import input_gain, make_method


@pytest.mark.parametrize("text", ["-30", "41", "nan", "loud", ""])
def test_a_gain_the_enhancer_refuses_is_a_usage_error_before_the_run(text, capsys):
    with pytest.raises(SystemExit) as e:
        bench(["--input-gain-db", text, "--methods", "ours"])
    assert e.value.code == 2
    assert "argument --input-gain-db:" in capsys.readouterr().err  # its own check, not an unknown option


def test_the_gain_reaches_ours_and_changes_a_quiet_input_only_as_the_node_does():
    assert input_gain(" auto ") == "auto" and input_gain("12") == 12.0
    rng = np.random.default_rng(3)
    t = np.arange(16000) / 16000
    x = (10 ** (-65 / 20) * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * rng.standard_normal(t.size))).astype(np.float32)
    plain, auto = make_method("ours"), make_method("ours", None, "auto")
    assert plain.node.params.input_gain_db == 0.0 and auto.node.params.input_gain_db == "auto"
    y0, y1 = plain.run(x)[0], auto.run(x)[0]
    assert y0.shape == y1.shape == (16000 + 319,)  # raw: the node's 319-sample lag flushed at the end
    assert not np.allclose(y0, y1, atol=1e-7)  # at -65 dBFS auto raises what the model sees
    fixed = make_method("ours", None, 20.0).run(x)[0]  # the model sees 10 x, the output is scaled back
    np.testing.assert_allclose(fixed, plain.run(10 * x)[0] / 10, rtol=1e-5, atol=1e-9)
