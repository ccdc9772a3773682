"""A stimulus program that formats its frequency markers with trailing zeros ("7.50", "10.00") or sends them as
numbers of another spelling (8.570) got every marker dropped as unknown_marker although marker_codes held "7.5", "10",
"8.57". A marker that spells the same finite number as one key takes that key's code."""

import numpy as np
import pytest
from wavegraph.nodes.io.marker_codes import marker_code

CODES = {"7.5": 1, "8.57": 2, "10": 3, "stim": 9}


@pytest.mark.parametrize(
    ("marker", "code"),
    [("7.50", 1), ("10.00", 3), (" 8.570\n", 2), (np.float32(8.57), 2), (np.float64(7.5), 1), ("7.5", 1)],
)
def test_the_same_number_spelt_otherwise_takes_its_code(marker, code):
    assert marker_code(marker, CODES) == code


@pytest.mark.parametrize("marker", ["7.51", "nan", "inf", "1e400", "stim2", np.float32(7.51)])
def test_other_numbers_and_texts_stay_unknown(marker):
    assert marker_code(marker, CODES) is None


def test_a_number_two_keys_spell_is_left_unknown():
    assert marker_code("7.50", {"7.5": 1, "7.500": 2}) is None  # ambiguous: said as unknown, not guessed
