"""Session 46: a mutation fuzz of file_source's readers (bytes flipped in a file's first 4 KiB, header fields set to 0,
-1, huge or NaN, byte ranges doubled or dropped, files cut or with garbage after them), each mutant replayed and
compared with what MNE, soundfile or numpy read from it. Each test builds the smallest mutant of one cause it found,
in tmp_path: a FIF whose tag chain loops (MNE listed its tags without end, filling memory), an .npz whose samples
changed (replayed unsaid), and files of which not even the first sample decodes (a FLAC's first frame, an EEGLAB .set's
data dimensions: a run that failed at its first read, or an empty replay said 'truncated')."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import textwrap

import mne
import numpy as np
import pytest
import soundfile as sf
from wavegraph.nodes.io.file_source import FileSource
from wavegraph.nodes.io.recorder import Recorder
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.spec import SpecError, StreamSpec

resource = pytest.importorskip("resource")  # (RLIMIT_AS for the FIF loop: POSIX)


def _replay(path) -> np.ndarray:
    src = FileSource(path=str(path), chunk_size=100)
    src.configure({})
    parts = []
    while (out := src.read()) is not None:
        if "out" in out:
            parts.append(out["out"].data)
    src.close()
    return np.concatenate(parts, axis=1)


def _fif(tmp_path, name="rec_raw.fif"):
    """A small raw FIF as MNE writes it (no tag directory: MNE walks its tag chain to read it)."""
    info = mne.create_info(["Fz", "Cz", "Pz"], 100.0, "eeg")
    raw = mne.io.RawArray(np.random.default_rng(0).standard_normal((3, 300)) * 1e-5, info, verbose="error")
    raw.save(tmp_path / name, verbose="error")
    return tmp_path / name, mne.io.read_raw_fif(tmp_path / name, verbose="error").get_data()  # (stored as float32)


def _tags(data: bytes) -> list[tuple[int, int, int, int, int]]:
    """(position, kind, type, size, next) of each tag of a whole FIF, in chain order."""
    out, at = [], 0
    while at < len(data):
        kind, typ, size, nxt = struct.unpack(">iiii", data[at : at + 16])
        out.append((at, kind, typ, size, nxt))
        if nxt == -1:
            break
        at = at + 16 + size if nxt == 0 else nxt
    return out


def test_a_fif_whose_tag_chain_loops_is_refused_before_mne_fills_memory(tmp_path):
    """Before: one flipped byte in a tag's size (or next) field of a FIF that MNE wrote led its chain back to an earlier
    tag; mne.io.read_raw_fif (and file_source, in configure) then listed the same tags without end, using gigabytes in
    seconds until memory ran out (a MemoryError after 23 s under a 1.5 GB limit; without one, all of the machine's). Now a
    SpecError names the file, the tag, its field and where it leads, before MNE is asked. Run in a child process with an
    address-space limit, so that the old behaviour fails the test instead of the machine."""
    path, _ = _fif(tmp_path)
    data = path.read_bytes()
    tags = _tags(data)
    pos, _, _, size, _ = tags[10]
    by_size = bytearray(data)  # the size field of tag 11 leading back to byte 0
    by_size[pos + 8 : pos + 12] = struct.pack(">i", -(pos + 16))
    (tmp_path / "size_raw.fif").write_bytes(by_size)
    by_next = bytearray(data)  # the next field of tag 12 pointing at tag 5
    by_next[tags[11][0] + 12 : tags[11][0] + 16] = struct.pack(">i", tags[4][0])
    (tmp_path / "next-epo.fif").write_bytes(by_next)
    script = textwrap.dedent(
        """
        import json, resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (3 << 29, 3 << 29))  # 1.5 GB (an import takes 0.3)
        from wavegraph.nodes.io.file_source import FileSource
        said = []
        for name in sys.argv[2:]:
            try:
                FileSource(path=sys.argv[1] + "/" + name).configure({})
                said.append(["read", ""])
            except BaseException as e:
                said.append([type(e).__name__, str(e)])
        print(json.dumps(said))
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path), "size_raw.fif", "next-epo.fif"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    (kind1, said1), (kind2, said2) = json.loads(run.stdout.strip().splitlines()[-1])
    assert kind1 == "SpecError" and str(tmp_path / "size_raw.fif") in said1, said1
    assert f"its tag 11 at byte {pos} leads by its size field ({-(pos + 16)}) back to byte 0, its tag 1" in said1
    assert "undamaged copy" in said1
    assert kind2 == "SpecError" and f"next field ({tags[4][0]}) back to byte {tags[4][0]}, its tag 5" in said2, said2


def test_a_fif_whose_chain_jumps_back_without_a_loop_still_replays(tmp_path):
    """A tag moved to the end of the file and linked in by next fields (as a FIFF tool that edits a file in place links
    it) jumps back without a loop: MNE reads it, and so does file_source, the same samples."""
    path, want = _fif(tmp_path)
    data = bytearray(path.read_bytes())
    tags = _tags(bytes(data))
    (a, *_), (b, kind, typ, size, _), (c, *_) = tags[9], tags[10], tags[11]
    moved = struct.pack(">iiii", kind, typ, size, c) + bytes(data[b + 16 : b + 16 + size])
    data[a + 12 : a + 16] = struct.pack(">i", len(data))  # tag 10 -> the copy of tag 11 at the end -> tag 12
    edited = tmp_path / "edited_raw.fif"
    edited.write_bytes(bytes(data) + moved)
    np.testing.assert_array_equal(mne.io.read_raw_fif(edited, verbose="error").get_data(), want)
    np.testing.assert_array_equal(_replay(edited), want)


def _npz(tmp_path) -> tuple:
    spec = StreamSpec("signal", 100.0, (2,), "float64", ("a", "b"), ("eeg", "eeg"))
    x = np.arange(1.0, 4001.0).reshape(2, 2000) * 1e-6  # (a member over zipfile's 4 KiB first read)
    rec = Recorder(path=str(tmp_path / "rec.npz"))
    rec.configure({"in": spec})
    for k in range(0, 2000, 500):
        rec.process({"in": Chunk(x[:, k : k + 500], k / 100.0)})
    rec.finish()
    rec.close()
    return tmp_path / "rec.npz", x


def test_an_npz_whose_samples_changed_on_disk_is_refused(tmp_path):
    """Before: the recorder's .npz is read by mapping its data member, so a byte changed in it (a disk or copy error)
    replayed as a wrong sample, unsaid (3.501e-3 V became 1.03e-41 V here), where numpy.load refuses the file ('Bad CRC-32').
    69 of 200 mutants of a real recording did so. Now the member's CRC-32 is checked at configure (read in blocks, not
    loaded): a SpecError naming the file and the cause. An undamaged one replays as before."""
    path, x = _npz(tmp_path)
    np.testing.assert_array_equal(_replay(path), x)
    data = bytearray(path.read_bytes())
    at = data.find(np.float64(x[1, 1500]).tobytes())
    assert at > 0
    data[at + 7] ^= 0x08  # the exponent of one sample
    path.write_bytes(bytes(data))
    with pytest.raises(Exception, match="CRC"):
        np.load(path)["data"]
    with pytest.raises(SpecError) as e:
        FileSource(path=str(path)).configure({})
    assert str(path) in e.value.message and "is damaged" in e.value.message and "CRC-32" in e.value.message
    assert "undamaged copy" in str(e.value)


def _flac_first_frame(data: bytes) -> int:
    """Where the first audio frame of a FLAC starts (after its metadata blocks)."""
    at = 4
    while True:
        last, size = data[at] & 0x80, int.from_bytes(data[at + 1 : at + 4], "big")
        at += 4 + size
        if last:
            return at


@pytest.mark.parametrize("how", ["damaged", "cut"])
def test_a_flac_whose_first_frame_does_not_decode_is_refused_at_configure(tmp_path, how):
    """Before: a FLAC whose first frame is damaged (its last one decoding) configured, then failed the run at its first
    read: 'reading samples 0..48000 of ... failed: LibsndfileError: Internal psf_fseek() failed.' (libsndfile's words,
    no fix); one cut inside its first frame replayed nothing, said 'truncated: its header lists 48000 frames, 0 can be
    read; replaying those' and 'holds no samples'. Now both are a SpecError at configure naming the file, the decoder's
    error and the ffmpeg line that decodes what it can. A FLAC damaged later still replays up to the damage."""
    x = (0.3 * np.sin(np.arange(48000) / 7.0) * np.sin(np.arange(48000) / 3000.0)).astype(np.float32)
    sf.write(tmp_path / "take.flac", x, 16000, subtype="PCM_16")
    data = bytearray((tmp_path / "take.flac").read_bytes())
    first = _flac_first_frame(bytes(data))
    if how == "damaged":
        data[first + 20 : first + 28] = b"\xff" * 8
    else:
        data = data[: first + 100]
    (tmp_path / "take.flac").write_bytes(bytes(data))
    with pytest.raises(SpecError) as e:
        FileSource(path=str(tmp_path / "take.flac")).configure({})
    said = str(e.value)
    assert f"cannot read {tmp_path / 'take.flac'}: LibsndfileError" in said and "lost sync" in said, said
    assert "ffmpeg -i take.flac take_fixed.wav" in said


def test_an_eeglab_set_whose_data_dimensions_are_damaged_is_refused(tmp_path):
    """Before: an EEGLAB .set whose data matrix's dimensions were damaged (a flipped byte: MNE opens it and fails at
    its first read, 'cannot reshape array of size 900 into shape (300,3000)') replayed nothing, said 'is truncated: MNE
    lists 300 samples, 0 can be read; replaying those': the file is whole, and the run ended at once. Now a SpecError
    naming the file and MNE's error, as a .set MNE cannot open at all."""
    info = mne.create_info(["Fz", "Cz", "Pz"], 100.0, "eeg")
    raw = mne.io.RawArray(np.random.default_rng(0).standard_normal((3, 300)) * 1e-5, info, verbose="error")
    path = tmp_path / "rec.set"
    mne.export.export_raw(path, raw, fmt="eeglab", verbose="error")
    data = bytearray(path.read_bytes())
    at = data.find(b"\x01\x00\x04\x00data")  # the MAT name element of the data matrix; its dimensions before it
    assert at > 0 and struct.unpack("<ii", data[at - 8 : at]) == (3, 300)
    data[at - 8 : at - 4] = struct.pack("<i", 3000)
    path.write_bytes(bytes(data))
    with pytest.raises(SpecError) as e:
        FileSource(path=str(path)).configure({})
    said = str(e.value)
    assert f"cannot read {path}: ValueError: cannot reshape array" in said and "it is EEGLAB but damaged" in said
