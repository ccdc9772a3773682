"""A recorder's CSV of a complex stream (an stft) holds Python complex text, "(1+2j)". file_source answered
"could not convert string to float64 ... fix: load it ... and replay it with array_source", a fix that fails
too (array_source takes real numbers). It now says the file holds complex values and how to read them."""

import numpy as np
import pytest
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.pipeline.spec import SpecError


def test_a_complex_csv_is_named_complex_with_a_fix_that_reads_it(tmp_path):
    path = tmp_path / "stft.csv"
    path.write_text("t,f0,f1\n0.0,(1+0j),(-0.5+2j)\n0.008,(3+0j),(1e+300-infj)\n")
    with pytest.raises(SpecError) as e:
        FileSource(path=str(path)).configure({})
    assert "complex" in str(e.value) and "dtype=complex" in str(e.value)
    # the fix it gives reads the file
    x = np.loadtxt(path, delimiter=",", skiprows=1, dtype=complex)
    assert x.shape == (2, 3) and x[0, 2] == complex(-0.5, 2)


def test_a_csv_with_text_in_a_row_still_says_a_row_is_not_numbers(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("t,C3\n0.0,1.0\n0.01,abc\n")
    with pytest.raises(SpecError, match="a row is not numbers"):
        FileSource(path=str(path)).configure({})
