"""Leftovers of session 25 (helper 179): each with the test that failed before its fix."""

from __future__ import annotations

import logging

from wavegraph.pipeline.spec import StreamSpec


def _car_warning(names: tuple[str, ...], caplog) -> list[str]:
    """car's warnings about channels typed eeg whose names say they hold none, for a stream of `names` all typed eeg."""
    from wavegraph.nodes.dsp.channels import CAR

    spec = StreamSpec(
        "signal", 250.0, (len(names),), "float64", channel_names=names, channel_types=("eeg",) * len(names)
    )
    caplog.clear()
    with caplog.at_level(logging.WARNING, "wavegraph.rereference"):
        CAR().configure({"in": spec})
    return [r.getMessage() for r in caplog.records if "typed eeg" in r.getMessage()]


def test_car_says_the_outer_canthus_eog_labels_loc_and_roc_typed_eeg(caplog):
    """Sleep and clinical montages name their EOG by the outer canthus: 'LOC-A2', 'ROC-A1', 'EOG LOC'. car said
    HEOG/VEOG/HEO/VEO typed eeg (averaged into the reference) but not these: 'LOC-A2' and 'ROC-A1' were averaged unsaid.
    Said now, with the fix (infer_types for the one whose label starts with 'EOG', ref_channels for the rest)."""
    said = _car_warning(("Fz", "Cz", "C3", "LOC-A2", "ROC-A1", "EOG LOC", "LOC", "roc"), caplog)
    assert len(said) == 1, caplog.text
    assert "'LOC-A2', 'ROC-A1', 'EOG LOC', 'LOC', 'roc', typed eeg" in said[0]
    assert "infer_types: true types 'EOG LOC'" in said[0] and "ref_channels: [Fz, Cz, C3]" in said[0]


def test_no_eeg_name_of_the_standard_10_05_montage_is_taken_for_an_eog(caplog):
    """LOC/ROC are matched as words only: no name of MNE's standard_1005 montage (all EEG), nor a label that merely
    holds the letters ('CLOCK', 'Block1', 'ROCK', 'Proc', 'LOCA'), is said to be no EEG."""
    import mne

    names = tuple(mne.channels.make_standard_montage("standard_1005").ch_names) + (
        "CLOCK", "Block1", "ROCK", "Proc", "LOCA", "Velocity",
    )  # fmt: skip
    assert _car_warning(names, caplog) == []


def test_an_edf_whose_labels_are_utf8_replays_them_as_written(tmp_path):
    """EDF says ASCII, but tools write UTF-8 labels: 'Fp1-µV' and 'Ölabel' came out as MNE decodes them, Latin-1
    mojibake ('Fp1-ÂµV', 'Ã\\x96label'), which no pick or ref_channels written as the user sees them finds. A file
    whose label fields are all valid UTF-8, some not ASCII, is replayed with those names (infer_types' type word
    taken off as before); a Latin-1 file ('\\xd6label', no UTF-8) keeps MNE's names."""
    import numpy as np
    from wavegraph.nodes.io.file_source import FileSource

    from tests.test_real_files3 import _edf

    x = np.arange(200) - 100

    def names(labels, **params) -> tuple[tuple[str, ...], tuple[str, ...]]:
        path = _edf(tmp_path / f"l{len(list(tmp_path.iterdir()))}.edf", [(n, "uV", x, 100, -1, 1) for n in labels], 2)
        src = FileSource(path=str(path), **params)
        spec = src.configure({})["out"]
        src.close()
        return spec.channel_names, spec.channel_types

    utf8 = ["Fp1-µV".encode(), "Ölabel".encode(), b"Cz"]
    assert names(utf8) == (("Fp1-µV", "Ölabel", "Cz"), ("eeg",) * 3)
    assert names(utf8 + ["EOG Öhr".encode()], infer_types=True) == (
        ("Fp1-µV", "Ölabel", "Cz", "Öhr"), ("eeg", "eeg", "eeg", "eog"),
    )  # fmt: skip
    assert names(utf8, picks=["Ölabel"]) == (("Ölabel",), ("eeg",))
    assert names(["aÖÖÖÖÖÖÖÖ".encode(), b"Cz"])[0] == ("aÖÖÖÖÖÖÖ", "Cz")  # the 16 bytes cut the last Ö in two
    assert names(["Ölabel".encode("latin-1"), "Fp1-µV".encode("latin-1")])[0] == ("Ölabel", "Fp1-µV")
    assert names(["Ölabel".encode(), "Fp1-µV".encode("latin-1")])[0] == ("Ã\x96label", "Fp1-µV")  # not all UTF-8


def _train_enhancer_refuses(argv: list[str], capsys) -> str:
    """`wavegraph train enhancer ARGV` stopped by its argument checks (parse and _check, which main runs before any data
    or training; main itself would train what they let by): exit 2, stderr."""
    import pytest
    from wavegraph.models import train_enhancer_args as tr

    ap = tr.parser("")
    with pytest.raises(SystemExit) as e:
        tr.check_args(ap, ap.parse_args(argv))
    assert e.value.code == 2
    return capsys.readouterr().err


def test_train_enhancer_refuses_a_refresh_beyond_its_pool_and_more_threads_than_cpus(capsys):
    """`--pool 4 --refresh 10` remade parts of the pool over and over at each step (every part at least twice: the cost
    of --pool 0, unsaid) and `--threads 1000` was handed to torch, which oversubscribed the machine's CPUs: both were
    taken. Refused now with the flag, the value and the fix; --refresh equal to --pool is taken."""
    import os

    from wavegraph.models import train_enhancer_args as tr

    err = _train_enhancer_refuses(["--pool", "4", "--refresh", "10"], capsys)
    assert "--refresh 10 is more than --pool 4" in err and "give --refresh 0..4" in err
    # (--threads past the CPUs is taken, said: tests/test_review_session26.py; a count no machine runs is refused)
    most = max(1024, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    err = _train_enhancer_refuses(["--threads", str(most + 1)], capsys)
    assert "--threads" in err and f"'{most + 1}' threads: more than any count" in err and f"1..{most}" in err
    ap = tr.parser("")
    tr.check_args(ap, ap.parse_args(["--pool", "4", "--refresh", "4", "--threads", "1"]))  # taken


def test_bench_enhance_refuses_per_snr_with_a_clean_folder_and_names_the_flag_that_sets_it(tmp_path, capsys):
    """`bench enhance --clean DIR --per-snr 3` ran one mixture per file at each SNR, whatever --per-snr said (it is the
    held-out set's count; a folder's files are each mixed once at each SNR, --max-files sets how many). Refused now
    (exit 2), before any file is read, with --max-files 3 as the fix; --max-files with --clean is taken as before."""
    from tests.test_leftovers6_session25 import _speech_like, bench

    (tmp_path / "clean").mkdir()
    _speech_like(tmp_path / "clean" / "a.wav")
    argv = ["--clean", str(tmp_path / "clean"), "--snrs", "5", "--methods", "noisy", "--all-cores"]
    code, _, err = bench([*argv, "--per-snr", "3", "--png", str(tmp_path / "p.png")], capsys)
    assert code == 2 and "--per-snr 3 counts the held-out set's mixtures" in err and "--max-files 3" in err, err
    assert "mixtures," not in err  # refused before any file was read


def test_bench_enhance_says_a_clean_file_below_16_khz_is_upsampled(tmp_path):
    """A clean file at 8 kHz was resampled to 16 kHz unsaid, and its scores (of speech with nothing above 4 kHz)
    stood beside the others' as if full-band. Said now in one line naming the file and its rate; a 16 kHz file not."""
    import numpy as np
    import soundfile as sf
    from wavegraph.benchmarks.enhance_data import load_folder

    from tests.test_leftovers6_session25 import _speech_like

    _speech_like(tmp_path / "wide.wav")
    t = np.arange(12000) / 8000
    sf.write(tmp_path / "phone.wav", (0.1 * np.sin(2 * np.pi * 300 * t) * (np.sin(2 * np.pi * 3 * t) > 0)), 8000)
    said: list[str] = []
    got = load_folder(str(tmp_path), 6.0, "--clean", said.append)
    assert [p.name for p, _ in got] == ["phone.wav", "wide.wav"] and len(got[0][1]) == 24000
    lines = [s for s in said if "upsampled" in s]
    assert len(lines) == 1 and "phone.wav (8 kHz)" in lines[0] and "band-limited" in lines[0], said
    assert "wide.wav" not in lines[0]


def test_fir_refuses_a_denormal_edge_with_its_own_error_naming_the_edge_and_the_fix():
    """fir l_freq 5e-324 (a denormal: divided by Nyquist it is 0) failed in scipy's firwin, said as 'fir design failed:
    Invalid cutoff frequency: frequencies must be greater than 0', whose fix named the window; 1e-310 had the node's
    own error. Now both edges (a high-pass's l_freq, a low-pass's h_freq) get it: the value, the narrowest band that
    fits and the IIR nodes."""
    import pytest
    from wavegraph.nodes.dsp.fir import FIR
    from wavegraph.pipeline.spec import SpecError, signal_spec

    for edge in ("l_freq", "h_freq"):
        with pytest.raises(SpecError) as e:
            FIR(**{edge: 5e-324}).configure({"in": signal_spec(250.0, ["C3"])})
        said = str(e.value)
        assert f"fir ({edge} 4.94066e-324 Hz) at 250 Hz needs a transition band" in said, said
        assert "l_freq: 1.23e-05 or more" in said and "IIR node" in said and "design failed" not in said
