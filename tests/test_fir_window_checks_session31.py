"""fir's numtaps and edges said at their lines by validate, also behind a device (session 31): an even numtaps (firwin
makes no high-pass or band-stop of even length; configure() refuses every even one) was said only by configure(), at
the edge's line, and behind an lsl_inlet not at all until `run`; a fir with neither l_freq nor h_freq the same. And a
window that needs a parameter (`window: kaiser`) names the YAML list form with a typical value in its fix (stft, istft,
fir): it said scipy's "'kaiser' must have parameters", with "use e.g. hann, sqrt_hann, hamming, blackman"."""

import re

import pytest
from peer_hints import SOURCES
from peer_hints import behind as graph
from peer_hints import problems as validate
from scipy.signal import get_window
from wavegraph.pipeline.registry import lookup
from wavegraph.pipeline.spec import SpecError, signal_spec

NODE_LINE = 6  # `- id: n`; its params start at line 9


@pytest.mark.parametrize(
    "edges", ["l_freq: 1.0", "l_freq: 40.0\nh_freq: 10.0", "h_freq: 30.0", "l_freq: 1.0\nh_freq: 30.0"]
)
def test_an_even_fir_numtaps_is_said_at_its_line(tmp_path, monkeypatch, capsys, edges):
    # high-pass, band-stop (firwin: 'A filter with an even number of coefficients must have zero response at the
    # Nyquist frequency'), low-pass, band-pass (configure() refuses them too): said at the edge's line (g.yaml:12)
    # offline, not at all behind the lsl_inlet
    line = NODE_LINE + 3 + len(edges.splitlines())
    for source in SOURCES:
        err = validate(tmp_path, monkeypatch, capsys, graph(source, "fir", f"{edges}\nnumtaps: 100"))
        assert len(err) == 1 and err[0].startswith(f"g.yaml:{line}: node 'n' (fir): fir numtaps 100 is even"), (
            source,
            err,
        )
        assert "fix: numtaps: 101 " in err[0], err
        fixed = graph(source, "fir", f"{edges}\nnumtaps: 101")
        assert validate(tmp_path, monkeypatch, capsys, fixed) == [], (source, edges)


def test_a_fir_without_edges_is_said_at_its_line(tmp_path, monkeypatch, capsys):
    for source in SOURCES:
        err = validate(tmp_path, monkeypatch, capsys, graph(source, "fir", "numtaps: 101"))
        assert len(err) == 1 and err[0].startswith(f"g.yaml:{NODE_LINE}: node 'n' (fir): fir needs l_freq"), err
        assert "fix: h_freq: " in err[0] and "l_freq: " in err[0].split("; fix: ")[1], err
        # an even numtaps too: both, each at its own line
        err = validate(tmp_path, monkeypatch, capsys, graph(source, "fir", "numtaps: 64\nwindow: hann"))
        assert len(err) == 2, err
        assert any(e.startswith("g.yaml:9: node 'n' (fir): fir numtaps 64 is even") for e in err), err
        assert any(e.startswith(f"g.yaml:{NODE_LINE}: node 'n' (fir): fir needs l_freq") for e in err), err


def test_a_fir_built_from_python_is_still_refused_with_the_same_words():
    spec = signal_spec(250.0, ["a"])
    for kw, said in (({"l_freq": 1.0, "numtaps": 100}, "fir numtaps 100 is even"), ({}, "fir needs l_freq")):
        node = lookup("fir")(**kw)
        with pytest.raises(SpecError, match=said) as e:
            node.configure({"in": spec})
        assert [(e.value.message, e.value.hint)] == [x[1:] for x in node.check_params()], kw


# (window as written, the list form its fix gives): scipy.signal.get_window's names that must have parameters
NEEDS = [
    ("kaiser", "[kaiser, 8]"),
    ("KAISER", "[kaiser, 8]"),
    ("ksr", "[kaiser, 8]"),
    ("[kaiser]", "[kaiser, 8]"),
    ("gaussian", "[gaussian, "),
    ("general_gaussian", "[general_gaussian, 1.5, "),
    ("general gaussian", "[general_gaussian, 1.5, "),
    ("general_cosine", "[general_cosine, [0.5, 0.5]]"),
    ("general_hamming", "[general_hamming, 0.54]"),
    ("dpss", "[dpss, 3]"),
    ("chebwin", "[chebwin, 100]"),
    ("kaiser_bessel_derived", "[kaiser, 8]"),  # (only symmetric and of even length: no stft, istft or fir takes it)
]
NODES = (("stft", "n_fft: 64\nhop: 16\nwindow: WINDOW", 11), ("fir", "h_freq: 30\nwindow: WINDOW", 10))


@pytest.mark.parametrize("window, fix", NEEDS)
def test_a_window_that_needs_a_parameter_is_given_the_list_form(tmp_path, monkeypatch, capsys, window, fix):
    for source in SOURCES:
        for node_type, params, line in NODES + (("istft", NODES[0][1], 11),) * (source == SOURCES[0]):
            err = validate(tmp_path, monkeypatch, capsys, graph(source, node_type, params.replace("WINDOW", window)))
            assert len(err) == 1 and err[0].startswith(f"g.yaml:{line}: node 'n' ({node_type}): "), (window, err)
            said = "hann (" if node_type == "fir" and window == "general_cosine" else fix  # (firwin refuses it)
            assert "must have parameters" in err[0] and f"fix: write window: {said}" in err[0], (window, err)
            # the fix as given, written in the file: taken (by every node that takes the window)
            found = re.search(r"fix: write window: (.+?) \(", err[0])
            assert found, err
            text = graph(source, node_type, params.replace("WINDOW", found.group(1)))
            assert validate(tmp_path, monkeypatch, capsys, text) == [], (window, found.group(1))


def test_a_general_cosine_fir_is_said_at_its_line(tmp_path, monkeypatch, capsys):
    # scipy's firwin passes get_window its array namespace, which general_cosine refuses: validate said OK and
    # configure() 'fir design failed: ...' at the edge's line, also for the list form
    for source in SOURCES:
        text = graph(source, "fir", "h_freq: 30\nwindow: [general_cosine, [0.5, 0.5]]")
        err = validate(tmp_path, monkeypatch, capsys, text)
        assert len(err) == 1 and err[0].startswith("g.yaml:10: node 'n' (fir): "), err
        assert "scipy's firwin does not make it" in err[0] and "fix: write window: hann (" in err[0], err


def test_every_scipy_window_that_must_have_parameters_has_an_example():
    # a later scipy's new window needing a parameter gets none: this says which
    from scipy.signal.windows import _windows
    from wavegraph.nodes.dsp.window_names import needs_parameters

    needing = [names[0] for names, (_, has) in _windows._WIN_FUNC_DATA.items() if has is True]
    for name in needing:
        with pytest.raises(ValueError, match="must have parameters"):
            get_window(name, 64)
        assert needs_parameters(name, 64) is not None, name
    assert needs_parameters("tukey", 64) is None and needs_parameters("hann", 64) is None


def test_a_scipy_whose_get_window_takes_no_namespace_still_checks_fir_windows(monkeypatch):
    """pyproject allows scipy >= 1.11, whose get_window has no `xp` (scipy 1.15 added it): passing it anyway was a
    TypeError, so every fir window was refused there."""
    import scipy.signal
    from wavegraph.nodes.dsp.fir import FIRParams, fir_window_problem

    real = scipy.signal.get_window

    def get_window(window, Nx, fftbins=True):  # scipy 1.11's signature
        return real(window, Nx, fftbins=fftbins)

    monkeypatch.setattr(scipy.signal, "get_window", get_window)
    assert fir_window_problem(FIRParams(h_freq=30.0, window="hamming"), 101) is None
    assert fir_window_problem(FIRParams(h_freq=30.0, window=["kaiser", 8]), 101) is None
    said = fir_window_problem(FIRParams(h_freq=30.0, window="hammingg"), 101)
    assert said is not None and "hammingg" in said[0]
