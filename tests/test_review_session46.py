"""Review of session 46's committed range (aea998af..HEAD): what a fresh-eyed pass found and reproduced."""

from __future__ import annotations

import socket
import threading

import numpy as np
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import StreamSpec, signal_spec

WAIT = 30.0  # a bound for what must happen, never a timing asserted


def test_an_npz_member_past_the_crc_bound_is_mapped_without_a_pass_over_it(tmp_path, monkeypatch):
    """The .npz data member's CRC-32 check (2ef12dae) read the whole member at every configure (a validate, the run's
    parent and again its worker): a recording of tens of GB was read whole twice before its first chunk, where the
    reader had mapped it lazily. Past CRC_CHECK_BYTES it is mapped unchecked again (the bound made tiny here)."""
    from wavegraph.nodes.io import table_reader

    spec = StreamSpec("signal", 100.0, (2,), "float64", ("a", "b"), ("eeg", "eeg"))
    x = np.arange(1.0, 4001.0).reshape(2, 2000) * 1e-6
    rec = Recorder(path=str(tmp_path / "rec.npz"))
    rec.configure({"in": spec})
    rec.process({"in": Chunk(x, 0.0)})
    rec.finish()
    rec.close()
    passes = []
    crc = table_reader._crc_matches
    monkeypatch.setattr(table_reader, "_crc_matches", lambda *a: passes.append(a[2]) or crc(*a))
    monkeypatch.setattr(table_reader, "CRC_CHECK_BYTES", 1024, raising=False)
    src = FileSource(path=str(tmp_path / "rec.npz"), chunk_size=500)
    src.configure({})
    parts = [out["out"].data for out in iter(src.read, None) if "out" in out]
    src.close()
    assert passes == []  # (was one pass over all 32000 bytes)
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), x)
    monkeypatch.setattr(table_reader, "CRC_CHECK_BYTES", 1 << 30)
    FileSource(path=str(tmp_path / "rec.npz")).configure({})
    assert passes and passes[0] >= x.nbytes  # under the bound: checked as 2ef12dae made it


def test_a_plain_send_without_timeout_behind_a_tunnel_whose_far_end_comes_up_late_waits_and_delivers():
    """ssh -L, docker-proxy, kubectl port-forward accept the TCP connection and close it while the receiver behind
    them is not up: libzmq sees each handshake closed (EVENT_HANDSHAKE_FAILED_NO_DETAIL) and retries. Before 67ad2304
    a send without a timeout waited for the receiver and delivered; 67ad2304 raised EdgeUnreachable ('it may require
    CURVE') after three such closes (~0.3 s). A receiver that requires CURVE says so to a plain sender (a mechanism
    mismatch, its own event), so a closed handshake alone is no refusal for a sender without CURVE."""
    from wavegraph.pipeline.transport import EdgeReceiver, EdgeSender, free_tcp_port

    spec, name = signal_spec(100.0, ["a"]), "a.out -> b.in"
    port = free_tcp_port()
    endpoint = f"tcp://127.0.0.1:{port}"
    lst = socket.socket()
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind(("127.0.0.1", port))
    lst.listen(16)
    lst.settimeout(WAIT)
    tx = EdgeSender(endpoint, spec, hwm=4, name=name, linger_ms=0)
    result: list = []

    def send():
        try:
            for i in range(50):
                tx.send(Chunk(np.full((1, 4), float(i)), 0.04 * i))
            result.append("ok")
        except Exception as e:  # noqa: BLE001 - what the test looks at
            result.append(e)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        for _ in range(6):  # the tunnel before its far end is up: accepts, closes (more than NO_DETAIL_REFUSALS)
            lst.accept()[0].close()
        lst.close()
        rx = EdgeReceiver(endpoint, spec, name=name)  # the far end comes up
        try:
            got: list = []
            for _ in range(int(WAIT / 0.5)):  # (polls: the sender may have given up)
                if len(got) == 50 or result and result[0] != "ok":
                    break
                if (chunk := rx.recv(timeout=0.5)) is not None:
                    got.append(chunk.data[0, 0])
            sender.join(WAIT)
            assert result == ["ok"], f"send() without a timeout: {result}"
            assert got == list(range(50))
        finally:
            rx.close()
    finally:
        lst.close()
        tx.close(linger_ms=0)


def test_a_running_zscore_state_it_saved_after_a_huge_sample_loads_and_continues_as_the_node_does():
    """A finite but huge sample (1e200, a damaged float file) overflows running_zscore's sums of squares to inf and
    NaN; the windows after it recover. 1253bd90 checked those sums finite at load, so the node refused the state it
    had saved itself. The sums are no longer checked (its samples still are)."""
    from wavegraph.nodes.dsp.scaling import RunningZScore

    spec = {"in": signal_spec(100.0, ["a", "b"], dtype="float64")}

    def node():
        n = RunningZScore(window=0.5)
        n.configure(spec)
        return n

    x = np.random.default_rng(0).standard_normal((2, 400))
    x[0, 30] = 1e200
    whole, part = node(), node()
    expected = whole.process({"in": Chunk(x, 0.0)})["out"].data
    first = part.process({"in": Chunk(x[:, :60], 0.0)})["out"].data
    state = part.state_dict()
    assert not np.isfinite(np.asarray(state["carry"])).all() or not np.isfinite(np.asarray(state["suffix"])).all()
    again = node()
    again.load_state_dict(state)  # was: "'carry' holds ... NaN or infinite ... the node keeps it finite"
    rest = again.process({"in": Chunk(x[:, 60:], 0.6)})["out"].data
    np.testing.assert_array_equal(np.concatenate([first, rest], axis=1), expected)
    assert np.isfinite(rest[:, -100:]).all()  # (recovered: the last second's z-scores are numbers)


def test_a_config_field_added_later_at_its_default_leaves_the_checkpoint_print_unchanged():
    """The config print covered every field of the model's config: a field a later version adds (at a default that
    keeps the old behaviour) would have refused every state saved before it as 'another checkpoint config'. It covers
    the fields that differ from their defaults now."""
    from dataclasses import dataclass, field

    from wavegraph.nodes.models.weights_fingerprint import config_fingerprint, output_config

    @dataclass
    class Before:
        mask_floor: float = 0.03
        bands: list = field(default_factory=lambda: [[6.0, 72.0]])

    @dataclass
    class After(Before):
        new_option: bool = False

    old = config_fingerprint(output_config(Before(mask_floor=0.05)))
    assert config_fingerprint(output_config(After(mask_floor=0.05))) == old
    assert config_fingerprint(output_config(After(mask_floor=0.05, new_option=True))) != old
    assert config_fingerprint(output_config(After(mask_floor=0.03))) != old  # an edited floor still differs
    assert config_fingerprint(output_config(Before(bands=[[6, 72]]))) == config_fingerprint(output_config(Before()))
