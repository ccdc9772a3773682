"""pick_channels positions on a stream whose channels are named by numbers ('1', '2', '3')."""

from __future__ import annotations

import pytest
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import SpecError, signal_spec

NUMBERED = signal_spec(250.0, ["1", "2", "3"])


@pytest.mark.parametrize("param", ["pick", "drop"])
def test_a_position_that_is_another_channels_name_is_refused(param):
    node = lookup("pick_channels")(**{param: [1]})  # position 1 is the channel named '2'
    with pytest.raises(SpecError, match="both a channel position and, as text, another channel's name"):
        node.configure({"in": NUMBERED})


def test_names_quoted_and_positions_that_agree_still_pick():
    assert lookup("pick_channels")(pick=["1"]).configure({"in": NUMBERED})["out"].channel_names == ("1",)
    named_so = signal_spec(250.0, ["0", "1", "2"])  # position and name agree: no doubt
    assert lookup("pick_channels")(pick=[1]).configure({"in": named_so})["out"].channel_names == ("1",)
    plain = signal_spec(250.0, ["C3", "Cz", "C4"])
    assert lookup("pick_channels")(pick=[2, 0]).configure({"in": plain})["out"].channel_names == ("C4", "C3")
