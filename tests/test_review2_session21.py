"""Review of session 21's buffers, sources and model tools (fixes found by reading the session's commits)."""

from __future__ import annotations

import torch
from memory_checks import kept_after
from wavegraph.models import checkpoint
from wavegraph.models.average_weights import main
from wavegraph.models.enhancer import Enhancer, EnhancerConfig


def _saved(tmp_path, name: str, seed: int):
    torch.manual_seed(seed)
    path = tmp_path / f"{name}.safetensors"
    checkpoint.save(Enhancer(EnhancerConfig(core="gla", d_model=16, n_layers=1)), path)
    return path


def test_average_weights_says_what_is_wrong_with_the_first_checkpoints_config(tmp_path, capsys):
    """The first checkpoint's JSON was read before it was checked: a config that is not JSON was a traceback
    (JSONDecodeError), and a missing one (a .pt, a weights file alone) a bare '[Errno 2] No such file' where the second
    checkpoint got load_config's message with its fix."""
    pa, pb = _saved(tmp_path, "a", 1), _saved(tmp_path, "b", 2)
    out = tmp_path / "soup.safetensors"
    pa.with_suffix(".json").write_text("{not json")
    assert main([str(pa), str(pb), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "a.json is not valid JSON" in err and not out.exists()

    pa.with_suffix(".json").unlink()
    assert main([str(pa), str(pb), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "no model config" in err and "models.checkpoint.save" in err and not out.exists()


def test_a_framing_node_keeps_no_copy_of_a_big_chunk_behind_the_samples_it_holds():
    """2f7c1d9 wrote each chunk into room kept after the samples held: one call on a whole recording copied it into a
    room twice its size, and the few samples held (none, for a window that divides it) were a view of that room, so the
    node kept the recording (256 MB after an stft of 256 MB in one call; before, a copy of the < window held) until as
    many samples again had come. The held samples now move out of a room that large; the frames are the same."""
    import numpy as np
    from wavegraph.nodes.dsp.bandpower import Bandpower
    from wavegraph.nodes.dsp.windows import STFT, SlidingWindow
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import signal_spec

    spec = signal_spec(1000.0, ["a", "b", "c", "d"])
    x = np.random.default_rng(3).standard_normal((4, 100_000))  # 3.2 MB
    for make in (
        lambda: SlidingWindow(size=256, hop=256),
        lambda: STFT(n_fft=256, hop=64),
        lambda: Bandpower(window=1.0, hop=0.5),
    ):
        node = make()
        node.configure({"in": spec})
        whole, kept = kept_after(lambda node=node: node.process({"in": Chunk(x, t0=0.0)})["out"].data.copy())
        kept -= whole.nbytes
        name = type(node).__name__
        assert kept < x.nbytes / 10, f"{name} keeps {kept / 1e6:.3g} MB after one call on {x.nbytes / 1e6:.3g} MB"
        # and it goes on as one stream: the frames of the two calls are those of one
        more = node.process({"in": Chunk(x[:, :5_000], t0=200.0)})
        fresh = make()
        fresh.configure({"in": spec})
        both = fresh.process({"in": Chunk(np.concatenate([x, x[:, :5_000]], axis=1), t0=0.0)})["out"].data
        np.testing.assert_allclose(np.concatenate([whole, more["out"].data]), both, rtol=1e-12, atol=1e-12)


def test_epochs_keep_no_copy_of_a_big_chunk_behind_the_seconds_they_hold():
    """f5a2bd1's room after epochs' held samples: a big chunk (a whole recording in one call, an inlet's backlog after a
    stall) was copied into a room 1.5 times its size, and once the next chunk let epochs drop all but the seconds they
    hold (tmax - tmin + max_delay), those stayed a view of that room: the node kept the big chunk until half as many
    samples again came (a concatenate per chunk had let it go at the next one). What is held now moves out of a room
    that large when pruned; the epochs are the same."""
    import numpy as np
    from wavegraph.nodes.dsp.epochs import Epochs
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import StreamSpec, signal_spec

    specs = {"in": signal_spec(1000.0, ["a", "b", "c", "d"]), "events": StreamSpec("events", 0.0, (3,), "float64")}
    x = np.random.default_rng(4).standard_normal((4, 102_000))  # 3.3 MB
    markers = np.array([[t, 0.0, 1.0] for t in (5.0, 50.0, 95.0, 101.0)])

    def node():
        e = Epochs(tmin=-0.1, tmax=0.2, max_delay=2.0)
        e.configure(specs)
        e.process({"events": Chunk(markers, t0=0.0)})
        return e

    def cut(e, chunk):
        out, got = e.process({"in": chunk}), []
        while out:  # (one marker time per chunk: the others from more())
            got.append(out["out"].data.copy())
            out = e.more()
        return got

    e = node()

    def two_chunks():
        got = cut(e, Chunk(x[:, :100_000], t0=0.0))  # (held: all of it, the markers of a chunk come after it)
        return got + cut(e, Chunk(x[:, 100_000:], t0=100.0))

    got, kept = kept_after(two_chunks)
    kept -= sum(g.nbytes for g in got)
    assert kept < x.nbytes / 10, f"epochs keep {kept / 1e6:.3g} MB after {x.nbytes / 1e6:.3g} MB, 2 s held"
    whole = cut(node(), Chunk(x, t0=0.0))
    np.testing.assert_array_equal(np.concatenate(got), np.concatenate(whole))
    assert np.concatenate(got).shape == (4, 4, 301)


def test_ssvep_trial_decoder_keeps_no_copy_of_a_big_chunk_behind_the_seconds_it_holds():
    """b151617's room after the trial decoder's held samples, as epochs' (above): after a big chunk, and the next one
    letting it drop all but max_delay + pre + window seconds, it kept the big chunk until half as many samples again
    came. What is held now moves out of a room that large; the decisions are the same."""
    import numpy as np
    from wavegraph.nodes.models.ssvep import SSVEPTrialDecoder
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import StreamSpec, signal_spec

    rate, n = 250.0, 40_500
    specs = {"in": signal_spec(rate, [f"E{i}" for i in range(8)]), "events": StreamSpec("events", 0.0, (3,), "float64")}
    x = np.random.default_rng(5).standard_normal((8, n)) * 1e-5  # 2.6 MB
    markers = np.array([[t, 1.0, 1.0] for t in (20.0, 100.0, 159.0)])

    def node():
        d = SSVEPTrialDecoder(method="fbcca", freqs=[6.0, 7.5, 10.0, 12.0], window=1.0, pre=0.5, max_delay=2.0)
        d.configure(specs)
        d.process({"events": Chunk(markers, t0=0.0)})
        return d

    def decide(d, chunk):
        out, rows = d.process({"in": chunk}), []
        while out:  # (one marker time per chunk: the others from more())
            rows.append(out["out"].data.copy())
            out = d.more()
        return rows

    d = node()

    def two_chunks():
        rows = decide(d, Chunk(x[:, :40_000], t0=0.0))
        return rows + decide(d, Chunk(x[:, 40_000:], t0=40_000 / rate))

    rows, kept = kept_after(two_chunks)
    assert kept < x.nbytes / 10, f"ssvep_trial_decoder keeps {kept / 1e6:.3g} MB after {x.nbytes / 1e6:.3g} MB"
    whole = decide(node(), Chunk(x, t0=0.0))
    assert len(np.concatenate(rows)) == 3
    np.testing.assert_array_equal(np.concatenate(rows), np.concatenate(whole))


def test_ssvep_decoder_keeps_no_copy_of_a_big_chunk_behind_the_window_it_holds():
    """ssvep_decoder keeps its filtered bands from the next window's start; after a big chunk (a whole recording in one
    call) they were a view of the bands of all of it (five per channel: 5 times the input), kept until a window and a
    step more came (84572af's room; before it, until the next chunk), and for good after an offline call. They now
    move out of a room that large; the scores are the same."""
    import numpy as np
    from wavegraph.nodes.models.ssvep import SSVEPDecoder
    from wavegraph.pipeline.chunk import Chunk
    from wavegraph.pipeline.spec import signal_spec

    spec = signal_spec(250.0, [f"E{i}" for i in range(8)])
    x = np.random.default_rng(6).standard_normal((8, 20_000)) * 1e-5  # 1.3 MB, 6.4 MB of bands

    def node():
        d = SSVEPDecoder(method="fbcca", freqs=[6.0, 7.5, 10.0, 12.0], window=2.0, step=1.5)
        d.configure({"in": spec})
        return d

    d = node()
    first, kept = kept_after(lambda: d.process({"in": Chunk(x[:, :19_000], t0=0.0)})["scores"].data.copy())
    kept -= first.nbytes
    assert kept < x.nbytes, f"ssvep_decoder keeps {kept / 1e6:.3g} MB after one call on {x.nbytes / 1e6:.3g} MB"
    then = d.process({"in": Chunk(x[:, 19_000:], t0=19_000 / 250.0)})["scores"].data
    whole = node().process({"in": Chunk(x, t0=0.0)})["scores"].data
    np.testing.assert_allclose(np.concatenate([first, then]), whole, rtol=1e-9, atol=1e-12)


def test_a_chirp_of_a_huge_duration_is_told_when_it_reaches_nyquist():
    """a893530 searched [0, duration] by 200 halvings for when the sweep reaches Nyquist: a duration of 1e80 s (a
    'forever' written as a big number) left an interval of 1e20 s, and the error said 'reaches Nyquist (125 Hz) at 0 s
    ... give duration: 0 or less'. It now says 31.7949 s, as for an endless chirp."""
    import pytest
    from wavegraph.nodes.sim.synthetic import Chirp
    from wavegraph.pipeline.spec import SpecError

    for duration in (1e80, 1e300, None, 40.0):
        with pytest.raises(SpecError, match=r"at 31\.7949 s.*give duration: 31\.7949 or less"):
            Chirp(duration=duration, rate=250.0).configure({})
    Chirp(duration=31.0, rate=250.0).configure({})  # below it all along
