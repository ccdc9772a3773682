"""Session 20's fixes on the speech path, each with a test that failed before."""

from pathlib import Path

import pytest
from wavegraph.nodes.models.enhancer import EnhancerNode

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "weights" / "enhancer.safetensors"


def test_an_enhancer_with_checkpoint_and_random_init_says_which_to_drop():
    """It said 'give `checkpoint` or `random_init: true`, not both': not which one to drop for which result."""
    with pytest.raises(ValueError) as e:
        EnhancerNode(checkpoint=str(SHIPPED), random_init=True)
    said = str(e.value)
    assert (
        "to load the checkpoint, drop random_init" in said
        and "for random weights (tests only), drop checkpoint" in said
    )
