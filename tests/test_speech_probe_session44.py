"""Session 44 probe of the speech-enhancement path as a user meets it (configs/speech_enhance*.yaml, the enhancer
node, `wavegraph bench enhance --clean`): each test failed before its fix."""

import dataclasses

import numpy as np
import pytest
from wavegraph.nodes.dsp.resample import Resample
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import signal_spec


def _run_with_gaps(chain, rate: int, block: int, n_blocks: int, gap_every: int) -> list[Chunk]:
    """The live graph's chain driven as the runtime drives it: every `gap_every`-th block flagged gap (a JACK xrun:
    PortAudio's input_overflow, no sample lost), end_segment(t0) of each node before the chunk that carries the gap,
    its tail sent through the rest, the gap flag passed on with the node's output."""
    spec = signal_spec(rate, ["ch0"], "audio", "float32", "a.u.")
    for node in chain:
        spec = node.configure({"in": spec})["out"]
    rng = np.random.default_rng(0)
    got: list[Chunk] = []

    def through(chunks, nodes):
        for i, node in enumerate(nodes):
            nxt = []
            for c in chunks:
                if c.gap:
                    tail = node.end_segment(c.t0).get("out")
                    if tail is not None:
                        nxt_tail = through([tail], nodes[i + 1 :])
                        got.extend(nxt_tail)
                o = node.process({"in": c}).get("out")
                if o is not None:
                    nxt.append(dataclasses.replace(o, gap=c.gap))
            chunks = nxt
        return chunks

    for k in range(n_blocks):
        x = (0.1 * rng.standard_normal((1, block))).astype(np.float32)
        got.extend(through([Chunk(x, k * block / rate, gap=k > 0 and k % gap_every == 0)], chain))
    return got


@pytest.mark.parametrize("rate", [44100, 22050])
def test_a_gap_adds_no_audio_to_what_the_speaker_plays(rate):
    """configs/speech_enhance.yaml at 44.1 or 22.05 kHz (mic.rate, up.rate): each resampler's output runs ahead of
    its input by its filter's leading zero taps (9.4 ms), so after a gap shorter than that (an xrun: no sample lost)
    the segment before had already sent samples stamped after the next one's start, which came again: the speaker got
    ~20 ms (44.1 kHz) or ~40 ms (22.05 kHz) more audio than the sound card gave per xrun, its buffer and the call's
    latency growing for the rest of the run (4 s on the JACK dummy at load 6: 8.25 s played, 1,581 overflows). Now
    audio_output's timeline (nodes/io/audio_timeline.py) queues as many samples as the same input gives without a
    gap, each chunk after the one before."""
    from wavegraph.nodes.io.audio_timeline import QueuedUntil
    from wavegraph.nodes.models.enhancer import EnhancerNode

    def chain():
        return [Resample(rate=16000), EnhancerNode(), Resample(rate=rate)]

    def queued(chunks):
        speaker, n, ends = QueuedUntil(rate), 0, []
        for c in chunks:
            x, cut = speaker.trim(c.data, c.t0, c.gap)
            n += x.shape[-1]
            if x.shape[-1]:
                ends.append((c.t0 + cut / rate, c.t0 + c.data.shape[-1] / rate))
        return n, ends

    block, n_blocks = rate // 100, 120
    gapped = _run_with_gaps(chain(), rate, block, n_blocks, 6)
    out, ends = queued(gapped)
    for (_, end), (start, _) in zip(ends, ends[1:]):  # each queued run starts where the one before ended
        assert start >= end - 1e-6, (end, start)
    without, _ = queued(_run_with_gaps(chain(), rate, block, n_blocks, n_blocks + 1))
    played = sum(c.data.shape[1] for c in gapped)  # what the speaker queued before: every chunk whole
    assert played > without + 100 * (n_blocks // 6 - 1)  # the overlap the xruns made (~9 ms each, or more)
    # as many samples as without a gap, to the rounding of a segment's output grid against the one before
    assert n_blocks * block < without and without - 3 * (n_blocks // 6) <= out <= without, (out, without)


def test_resample_then_align_keeps_every_sample_after_a_short_gap():
    """A file graph's `resample -> align` across a gap shorter than the resampler's run-ahead (4 ms, 44.1 -> 16 kHz):
    the new segment, aligned, equals that segment resampled and aligned alone (docs/nodes.md, gaps). A drop of the
    overlap in the resampler itself (tried this session, now in audio_output) lost its first 5.4 ms here."""
    from wavegraph.nodes.dsp.spectral import Align

    fs, spec = 44100.0, signal_spec(44100.0, ["ch0"], "audio", "float64", "a.u.")
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((1, 4410)), rng.standard_normal((1, 4410))
    t1 = 4410 / fs + 0.004

    def aligned(chunks):
        r, al = Resample(rate=16000.0), Align()
        al.configure({"in": r.configure({"in": spec})["out"]})
        out = []
        for c in chunks:
            if c.gap and (tail := r.end_segment(c.t0).get("out")) is not None:
                out += [z["out"] for z in [al.process({"in": tail})] if z]
            if (y := r.process({"in": c}).get("out")) is not None:
                out += [z["out"] for z in [al.process({"in": dataclasses.replace(y, gap=c.gap)})] if z]
        for y in r.finish().values():
            out += [z["out"] for z in [al.process({"in": y})] if z]
        out += list(al.finish().values())
        return [c for c in out if c.t0 >= t1 - 1e-9]

    both = aligned([Chunk(a, 0.0), Chunk(b, t1, gap=True)])
    alone = aligned([Chunk(b, t1)])
    assert abs(both[0].t0 - alone[0].t0) < 1e-9
    x, y = (np.concatenate([c.data for c in cs], axis=-1) for cs in (both, alone))
    assert x.shape == y.shape and np.allclose(x, y)


def test_a_sound_card_at_another_rate_is_told_the_fix_that_fits_the_node():
    """configs/speech_enhance.yaml on a card (or JACK server) at 44.1 kHz: the microphone was told 'use at most 2
    channels and its rate 44100 Hz (insert a resample node)', which no resample node can do for what the card
    records; the fix is the microphone's own `rate`. The speaker's names the resampling before it, and a channel
    count past the device's is not told to change the rate."""
    from types import SimpleNamespace

    from wavegraph.nodes.io import audio
    from wavegraph.pipeline.spec import SpecError

    def check(device, channels, dtype, samplerate):
        if samplerate != 44100 or channels > 2:
            raise RuntimeError("Invalid sample rate [PaErrorCode -9997]")

    sd = SimpleNamespace(check_input_settings=check, check_output_settings=check, PortAudioError=RuntimeError)
    dev = {
        "index": 0,
        "name": "system",
        "max_input_channels": 2,
        "max_output_channels": 2,
        "default_samplerate": 44100.0,
    }
    with pytest.raises(SpecError) as e:
        audio._check_settings(sd, "input", dev, 1, 48000.0)
    assert "rate: 44100" in str(e.value) and "resample" not in str(e.value) and "channels" not in e.value.hint
    with pytest.raises(SpecError) as e:
        audio._check_settings(sd, "output", dev, 1, 48000.0)
    assert "resample to 44100 Hz before it" in str(e.value) and "channels" not in e.value.hint
    with pytest.raises(SpecError) as e:
        audio._check_settings(sd, "input", dev, 3, 44100.0)
    assert "at most 2 channels" in str(e.value) and "rate" not in e.value.hint


def test_input_gain_db_refuses_true_and_names_its_range(tmp_path):
    """`--set enhancer.input_gain_db=41` said 'fix: give a Annotated[float, FieldInfo(annotation=NoneType,
    required=True, metadata=[Ge(ge=-20.0), Le(le=40.0)])] | 'auto''; `input_gain_db: true` (auto gain meant) ran at
    1 dB without a word. Both are said with the range and `auto`."""
    from pathlib import Path

    from wavegraph.pipeline.config import load_config
    from wavegraph.pipeline.graph import GraphError, build_graph

    root = Path(__file__).resolve().parent.parent
    for value, said in (("41", "41 dB is not within -20 to 40"), ("true", "True is not a number of dB, nor auto")):
        with pytest.raises(GraphError) as e:
            build_graph(load_config(root / "configs" / "speech_enhance_file.yaml", [f"enhancer.input_gain_db={value}"]))
        text = str(e.value)
        assert said in text and "fix: give input_gain_db a number of dB from -20 to 40" in text, text
        assert "Annotated" not in text
    from wavegraph.nodes.models.enhancer import EnhancerParams

    assert EnhancerParams(input_gain_db=12).input_gain_db == 12.0 and EnhancerParams(input_gain_db="auto")


def test_the_speaker_timeline_trims_only_after_a_gap_and_only_a_short_overlap():
    """A stream without gaps plays every sample whatever its times (a user's source stamping every chunk 0); after a
    gap, the overlap is cut until a chunk keeps a sample; an overlap over 0.1 s (a clock gone back) plays on."""
    from wavegraph.nodes.io.audio_timeline import QueuedUntil

    q, x = QueuedUntil(1000.0), np.ones((1, 50))
    assert [q.trim(x, 0.0, False)[1] for _ in range(3)] == [0, 0, 0]  # no gap: nothing cut
    q = QueuedUntil(1000.0)
    q.trim(x, 0.0, False)  # queued to 0.05 s
    assert q.trim(x[:, :0], 0.01, True)[1] == 0  # the gap on an empty chunk holds
    assert q.trim(x[:, :20], 0.01, False)[1] == 20  # all stamped before 0.05 s: cut, still after the gap
    kept, cut = q.trim(x, 0.03, False)
    assert cut == 20 and kept.shape[-1] == 30 and not q.after_gap  # caught up
    assert q.trim(x, 0.07, False)[1] == 0  # on time again
    q.trim(x, 10.0, False)
    assert q.trim(x, 9.0, True)[1] == 0  # 1 s back (a clock reset): played
