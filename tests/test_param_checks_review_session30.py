"""Review of 27e5c78, 668ab5d, dab2f1b and dfd500d (session 30): a notch at a slow frequency with the usual quality,
an istft whose framing differs from its stft's, and a refused plot whose -o reached a folder that was already there."""

from peer_hints import SOURCES, behind
from peer_hints import problems as validate
from wavegraph.pipeline.cli import main


def _notch(source: str, quality: str = "") -> str:
    """A notch at 0.02 Hz behind `source` (peer_hints.SOURCES), with `quality: ...` or without one."""
    return behind(source, "notch", "freq: 0.02" + (f"\n{quality}" if quality else ""))


def test_a_slow_notch_with_the_usual_quality_is_not_refused(tmp_path, monkeypatch, capsys):
    # 27e5c78 refused any notch narrower than 0.001 Hz, so quality 30 (the default, and the fix it gave) below 0.03 Hz:
    # 'notch quality 30 makes it 0.000667 Hz wide ...; fix: set quality: 30'. Before it, this ran
    for source in SOURCES:
        for quality in ("", "quality: 30", "quality: 10"):
            assert validate(tmp_path, monkeypatch, capsys, _notch(source, quality)) == [], (source, quality)
        err = validate(tmp_path, monkeypatch, capsys, _notch(source, "quality: 1e9"))  # still refused, and its fix
        assert len(err) == 1 and "narrower than 0.001 Hz" in err[0] and "fix: set quality: 30 " in err[0], err


ISTFT = """\
name: framing
nodes:
  - id: mic
    type: sine
    params: {rate: 16000, duration: 0.5}
  - id: spec
    type: stft
    params: {n_fft: 512, hop: 128, window: hann}
  - id: back
    type: istft
    params:
      n_fft: 512
      hop: HOP
      window: WINDOW
  - id: sink
    type: null_sink
edges:
  - {source: mic.out, target: spec.in}
  - {source: spec.out, target: back.in}
  - {source: back.out, target: sink.in}
"""


def test_an_istft_framed_unlike_its_stft_still_names_the_stfts_framing(tmp_path, monkeypatch, capsys):
    # 668ab5d said any SpecError of a node whose check_params finds a problem as that problem: the istft's 'differs
    # from the stft that made its frames (hop 128); fix: give the istft the stft's n_fft: 512, hop: 128, window: hann'
    # became 'hop 100 must divide n_fft 512; fix: ... e.g. hop: 256' (not the stft's), 'hanning' (the stft's hamming)
    # 'fix: write window: hann' (then refused again as not the stft's)
    stft = "fix: give the istft the stft's n_fft: 512, hop: 128, window: hann"
    for hop, window in (("100", "hann"), ("128", "hanning")):
        err = validate(tmp_path, monkeypatch, capsys, ISTFT.replace("HOP", hop).replace("WINDOW", window))
        assert len(err) == 1 and "differs from the stft that made its frames" in err[0] and stft in err[0], err
    text = ISTFT.replace("HOP", "128").replace("WINDOW", "hann").replace("hop: 128, window: hann}", "hop: 100}")
    err = validate(tmp_path, monkeypatch, capsys, text)  # the stft's own hop: still at its line (668ab5d), one line
    assert len(err) == 1 and err[0].startswith("g.yaml:8: node 'spec' (stft): stft/istft hop 100 must"), err


def test_a_refused_plot_keeps_a_folder_that_was_there_whatever_the_path_to_it(tmp_path, monkeypatch, capsys):
    # dfd500d took back the folders -o 'made' as those Path.exists() did not see before: new/../kept does not exist
    # while new does not, so the empty folder kept/, there before, was removed with new/
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.fif").write_bytes(b"not a FIF file")
    (tmp_path / "kept").mkdir()
    assert main(["plot", "bad.fif", "-o", "new/../kept/x.png"]) == 2
    assert "error: cannot plot bad.fif: " in capsys.readouterr().err
    assert (tmp_path / "kept").is_dir() and not (tmp_path / "new").exists()
    assert main(["plot", "bad.fif", "-o", "a/b/../c/x.png"]) == 2  # what it made itself is still taken back
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.fif", "kept"]
