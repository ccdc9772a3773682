"""A user of RNNoise / DeepFilterNet enhancing their own recordings with configs/speech_enhance_file.yaml
(docs/speech.md, "Enhancing a recording, and a folder"): helper-148's session 22 findings."""

import numpy as np
import soundfile as sf


def test_a_stereo_file_whose_both_channels_hold_nan_is_not_told_to_mix_with_all_weights_zero(tmp_path, caplog):
    """A stereo float WAV with a few NaN in the right channel and an Inf later in the left: `mix` said the right
    channel with weights [1, 0] (fine), then the left with weights [0, 0], which leave every channel out and mix
    silence. The second is said now as what it is: no channel is whole, so the weights cannot help."""
    from wavegraph.pipeline.api import GraphBuilder

    x = 0.3 * np.sin(np.arange(4000) / 5.0)
    st = np.stack([x, 0.5 * x], 1).astype(np.float32)
    st[500:520, 1] = np.nan
    st[3000, 0] = np.inf
    sf.write(tmp_path / "both.wav", st, 16000, subtype="FLOAT")
    g = GraphBuilder()
    mix = g.add("mix", g.add("file_source", path=str(tmp_path / "both.wav"), chunk_size=1000))
    with caplog.at_level("WARNING"):
        out = g.run(capture=[mix])[f"{mix}.out"].data[0]
    np.testing.assert_allclose(out[:500], (0.75 * x[:500]).astype(np.float32), rtol=1e-6)
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("mix:")]
    assert len(said) == 2 and said[0].endswith("weights: [1, 0]"), said
    assert "[0, 0]" not in said[1] and "'ch0'" in said[1] and "no channel is left" in said[1], said[1]
    assert "nan_policy" in said[1], said[1]
    caplog.clear()
    g = GraphBuilder()  # weights [0, 1]: the one channel in the mix holds NaN: was told weights [0, 0] too
    mix = g.add("mix", g.add("file_source", path=str(tmp_path / "both.wav"), chunk_size=1000), weights=[0.0, 1.0])
    with caplog.at_level("WARNING"):
        g.run(capture=[mix])
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("mix:")]
    assert len(said) == 1 and "[0, 0]" not in said[0] and "no channel is left" in said[0], said


def _speech_md_python_recipe() -> str:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "speech.md").read_text()
    after = text.split("Or from Python, without the runtime", 1)[1]
    return after.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_python_recipe_of_speech_md_runs_on_an_empty_recording(tmp_path, monkeypatch):
    """docs/speech.md's Python recipe (EnhancerNode as a plain class) on an empty noisy.wav (a failed take: a header,
    no samples) ended in KeyError: 'out', a traceback: the node gives no 'out' for no samples, from process() nor
    from finish(). The recipe takes what the node gives: an empty output, as long as the input. On a short file it
    still gives the input's length."""
    monkeypatch.chdir(tmp_path)
    code = _speech_md_python_recipe()
    for n in (0, 100):
        sf.write(tmp_path / "noisy.wav", 0.1 * np.sin(np.arange(n) / 3.0), 48000)
        scope: dict = {}
        exec(compile(code, "docs/speech.md", "exec"), scope)
        assert scope["y"].shape == scope["x"].shape and (len(scope["x"]) > 0) == (n > 0)


def test_an_empty_recording_to_flac_does_not_leave_an_earlier_runs_output_as_its_own(tmp_path, caplog):
    """`--set src.path=take.wav --set rec.path=enhanced/take.flac` (overwrite: true, as speech_enhance_file.yaml has it)
    on a take that came out empty: the recorder said 'a FLAC file cannot be empty, so enhanced/take.flac was not
    written', and the FLAC an earlier run wrote there stayed, the earlier take's audio under this take's name, beside
    this run's empty VAD CSV. The file to be replaced is removed now, and said."""
    from wavegraph.pipeline.api import GraphBuilder

    sf.write(tmp_path / "take.wav", np.zeros(0), 16000)
    out = tmp_path / "take.flac"
    sf.write(out, 0.1 * np.sin(np.arange(1600) / 3.0), 16000)  # an earlier run's output
    g = GraphBuilder()
    g.add("recorder", g.add("file_source", path=str(tmp_path / "take.wav")), path=str(out), overwrite=True)
    with caplog.at_level("WARNING"):
        g.run()
    assert not out.exists()
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("recorder:")]
    assert len(said) == 1 and "was not written" in said[0] and "removed" in said[0], said


def test_a_vad_path_that_is_a_folder_is_told_a_file_name_its_features_stream_can_take(tmp_path):
    """`--set vad.path=enhanced.wav` where enhanced.wav is a folder: the VAD recorder (a features stream) was told
    'fix: give the file to write, e.g. path: enhanced.wav/recording.wav', a WAV, which it then refuses (WAV holds
    signals); a folder without a suffix got '.../recording_raw.fif' (FIF holds signals too). It is told a .csv now;
    a signal keeps the folder's suffix."""
    import pytest
    from wavegraph.nodes.io.record_formats import target_format
    from wavegraph.pipeline.spec import SpecError, StreamSpec, signal_spec

    (tmp_path / "enhanced.wav").mkdir()
    (tmp_path / "plain").mkdir()
    vad = StreamSpec(kind="features", rate=100.0, shape=(1,), channel_names=("speech_prob",), dtype="float32")
    for folder in ("enhanced.wav", "plain"):
        with pytest.raises(SpecError) as e:
            target_format(tmp_path / folder, vad)
        fix = str(e.value)
        assert f"{tmp_path / folder / 'recording.csv'}" in fix, fix
    with pytest.raises(SpecError) as e:
        target_format(tmp_path / "enhanced.wav", signal_spec(16000, ["ch0"], "audio", "float32", "a.u."))
    assert f"{tmp_path / 'enhanced.wav' / 'recording.wav'}" in str(e.value)


def test_an_output_path_that_is_a_named_pipe_is_refused_at_configure(tmp_path):
    """`--set rec.path=p.wav` where p.wav is a named pipe (mkfifo): the run hung at the write with no reader and did not
    end on SIGTERM (timeout 20 left it running). The recorder refuses it at configure now, with the fix."""
    import os

    import pytest
    from wavegraph.nodes.io.recorder import Recorder
    from wavegraph.pipeline.spec import SpecError, signal_spec

    os.mkfifo(tmp_path / "p.wav")
    node = Recorder(path=str(tmp_path / "p.wav"), overwrite=True)
    with pytest.raises(SpecError, match="is a pipe or a device, not a file"):
        node.configure({"in": signal_spec(16000, ["ch0"], "audio", "float32", "a.u.")})
