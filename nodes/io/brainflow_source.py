"""brainflow_source (live source): an amplifier read through BrainFlow's BoardShim (OpenBCI Cyton/Ganglion, Muse, g.tec
Unicorn, ... and its synthetic and playback boards), as Timeflux's timeflux_brainflow and ezmsg read them
(`pip install 'wavegraph[brainflow]'`; docs/nodes.md, "BrainFlow amplifiers").

`board`: a BoardIds name (any case, "_BOARD" optional) or id; the connection: BrainFlowInputParams' fields. The spec
comes from BrainFlow's static board description, without the device: its rate, the rows of the `channels` groups
(eeg; emg, ecg, eog, accel; a row an earlier group took left out), EEG names from the description (else EEG1, ...),
MNE's types (accel: misc), ExG scaled from BrainFlow's microvolts to volts. The session is prepared and started at
open() and released at close() (also after an error), or at once when open() fails or is interrupted after preparing
it. Time: BrainFlow's Unix-time stamps moved onto the LSL clock (where lsl_inlet markers are) and smoothed by
lsl_inlet's fit (lsl_time.TimestampFit). Lost samples: a jump of the
package number (0..255, wrapping: the wraps of a longer dropout from the stamps; on the boards that count samples one
by one, PER_SAMPLE, or `package_check`) cuts the chunk, the rest flagged gap, counted (`gaps`, `lost_samples`). End: `duration`, `max_samples`, a playback file's
end, `idle_timeout`. BrainFlow's errors are SpecErrors naming the parameter and the fix.
"""

from __future__ import annotations

import difflib
import importlib.resources
import logging
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import NodeParams, Source
from wavegraph.pipeline.spec import SpecError, StreamSpec

from .brainflow_playback import check_rows, streamed_samples
from .lsl_time import TimestampFit, fill_times

_log = logging.getLogger("wavegraph.brainflow")
GROUPS = ("eeg", "emg", "ecg", "eog", "accel")
EXG = {"eeg", "emg", "ecg", "eog"}  # BrainFlow's microvolt groups
STALL_S = 5.0
STREAM_COUNTERS = ("gaps", "lost_samples", "stalls", "idle_timeout")  # a stream's own: a new one starts them at 0
PACKAGE_MOD = 256  # BrainFlow's package number wraps at 256 (OpenBCI, synthetic)
# boards whose package number counts samples one by one (BrainFlow's sources): Cyton Daisy numbers two samples a
# package, Muse twelve, Ganglion counts compressed packets; others: `package_check: true` where it does
PER_SAMPLE = {"SYNTHETIC_BOARD", "CYTON_BOARD", "CYTON_WIFI_BOARD"}
CONNECTION = ("serial_port", "ip_address", "ip_port", "mac_address", "serial_number", "other_info", "file", "timeout")
FILE_FIX = "set file to a file BrainFlow wrote (DataFilter.write_file, the OpenBCI GUI's BrainFlow files)"
HELP = {  # BrainFlow's exit code -> the fix to say
    1: "another program holds the port (the OpenBCI GUI, another session): close it",
    2: "set serial_port to the amplifier's port (ls /dev/ttyUSB* /dev/ttyACM*, COM3 on Windows) and check that "
    "you may open it (the dialout group)",
    3: "check serial_port and that the dongle is plugged in",
    6: "the board did not answer: switch it on, check the dongle's switch (PC) and its channel",
    7: "the board is not ready: switch it on, or raise timeout",
    13: "check the connection parameters the board needs (BrainFlow's docs for your board)",
    16: "another session of this board is open (another brainflow_source of the same board and connection, or "
    "a program holding it): close it",
    18: "the board did not answer in time: raise timeout, move it closer (Bluetooth)",
}


class BrainFlowSourceParams(NodeParams):
    board: str | int = Field("SYNTHETIC_BOARD", description="BrainFlow BoardIds name (CYTON_BOARD) or its id")
    serial_port: str = Field("", description="the amplifier's serial port (/dev/ttyUSB0, COM3)")
    ip_address: str = Field("", description="for a Wi-Fi or streaming board")
    ip_port: int = Field(0, ge=0, le=65535)
    mac_address: str = Field("", description="for a Bluetooth board")
    serial_number: str = Field("", description="the device's name or serial (Muse, Unicorn)")
    other_info: str = Field("", description="what some boards need beyond these (BrainFlow's docs)")
    file: str = Field("", description="for PLAYBACK_FILE_BOARD: a file BrainFlow wrote (DataFilter.write_file)")
    master_board: str | int | None = Field(None, description="the board a playback or streaming board stands for")
    timeout: int = Field(0, ge=0, description="s BrainFlow waits to discover the board (0: its default)")
    channels: list[Literal["eeg", "emg", "ecg", "eog", "accel"]] = Field(["eeg"], min_length=1)
    chunk_size: int = Field(32, ge=1, description="most samples per output chunk")
    wait: float = Field(0.1, ge=0, le=1.0, description="s a read waits for chunk_size samples")
    duration: float | None = Field(None, gt=0, allow_inf_nan=False, description="end after this many s of samples")
    max_samples: int | None = Field(None, ge=1, description="end after this many samples")
    idle_timeout: float | None = Field(None, gt=0, description="end when nothing arrived for this long (s)")
    smoothing_halftime: float = Field(30.0, gt=0, allow_inf_nan=False, description="s: half-life of the time fit")
    package_check: bool | None = Field(None, description="count lost samples from package numbers (None: by board)")


def import_brainflow():
    """brainflow.board_shim, or a SpecError with the pip line. On Python < 3.12 BrainFlow finds its library through
    pkg_resources (gone from setuptools 81): its modules are given the package-relative lookup Python 3.12 does."""
    try:
        import brainflow.board_shim as bs
        import brainflow.data_filter as df
    except (ImportError, OSError) as e:
        raise SpecError(
            f"BrainFlow is unavailable: cannot import brainflow ({type(e).__name__}: {e})",
            "pip install 'wavegraph[brainflow]' (or pip install brainflow)",
        ) from e
    if sys.version_info < (3, 12):
        for mod in (bs, df):
            if getattr(mod, "files", None) is importlib.resources.files:  # (once: then it is _package_files)
                mod.files = _package_files  # type: ignore[attr-defined]
    try:
        bs.BoardShim.set_log_level(bs.LogLevels.LEVEL_WARN.value)  # not its INFO lines on every session
    except (ImportError, OSError) as e:
        raise SpecError(
            f"BrainFlow cannot load its library ({type(e).__name__}: {e})",
            "pip install --force-reinstall brainflow (or pip install 'setuptools<81' where it asks for pkg_resources)",
        ) from e
    return bs


def _package_files(name: str):
    """importlib.resources.files as Python 3.12 has it, for BrainFlow's modules on 3.11: a module's name gives its
    package's files (3.11 raised TypeError, which sent BrainFlow to pkg_resources); any other name as before (a
    BrainFlow that asks for its package, 'brainflow', is given it, not files(''))."""
    try:
        return importlib.resources.files(name)
    except TypeError:
        if "." not in name:
            raise
        return importlib.resources.files(name.rpartition(".")[0])


def board_id(bs, value: str | int, param: str = "board", pre: str = "") -> int:
    """The BoardIds value of a name (any case, '_BOARD' optional) or id; a SpecError listing close names."""
    ids = {b.name: int(b.value) for b in bs.BoardIds}
    if isinstance(value, int) or str(value).lstrip("-").isdigit():
        if int(value) in ids.values():
            return int(value)
        raise SpecError(
            f"{pre}{param}: BrainFlow {_version()} has no board of id {value}",
            f"use a BoardIds name or id (SYNTHETIC_BOARD = {ids['SYNTHETIC_BOARD']}, CYTON_BOARD = {ids['CYTON_BOARD']})",
        )
    name = str(value).strip().upper().replace("-", "_").replace(" ", "_")
    for key in (name, f"{name}_BOARD"):
        if key in ids:
            return ids[key]
    close = difflib.get_close_matches(name, ids, n=5, cutoff=0.5) or difflib.get_close_matches(
        f"{name}_BOARD", ids, n=5, cutoff=0.5
    )
    raise SpecError(
        f"{pre}{param}: BrainFlow {_version()} has no board {value!r}",
        f"did you mean {', '.join(close)}?" if close else "use a name of brainflow's BoardIds (SYNTHETIC_BOARD, ...)",
    )


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("brainflow")
    except Exception:  # noqa: BLE001 — only for the message
        return ""


class BrainFlowSource(Source[BrainFlowSourceParams]):
    """An amplifier (or BrainFlow's synthetic or playback board) read through BrainFlow's BoardShim."""

    outputs = ("out",)
    live = True
    Params = BrainFlowSourceParams

    def __init__(self, **params: Any):
        super().__init__(**params)
        self._board = None  # the BoardShim of the session open() prepared, until released
        self._bs = None

    def _who(self) -> str:
        """Who a log line is from."""
        return f"brainflow_source '{self.node_id}'" if self.node_id else "brainflow_source"

    def _pre(self) -> str:
        """What an error starts with: in a graph, nothing (it says "node 'src' (brainflow_source): ...")."""
        return "" if self.node_id else "brainflow_source: "

    def configure(self, in_specs):
        bs = self._bs = import_brainflow()
        p = self.params
        self._id = board_id(bs, p.board, pre=self._pre())
        self._desc_id = self._id
        ids = {b.name: int(b.value) for b in bs.BoardIds}
        if self._id in (ids["PLAYBACK_FILE_BOARD"], ids["STREAMING_BOARD"]):
            if p.master_board is None:
                raise SpecError(
                    f"{self._pre()}board {p.board} stands for another board and has no master_board",
                    "set master_board to the board the file (or the stream) comes from, e.g. SYNTHETIC_BOARD",
                )
            self._desc_id = board_id(bs, p.master_board, "master_board", self._pre())
            if self._desc_id in (ids["PLAYBACK_FILE_BOARD"], ids["STREAMING_BOARD"], ids.get("NO_BOARD")):
                raise SpecError(  # (was 'board PlayBack has no eeg channels; fix: take channels among none')
                    f"{self._pre()}master_board {p.master_board} is no amplifier: it stands for another board itself",
                    "set master_board to the board the file (or the stream) comes from, e.g. SYNTHETIC_BOARD",
                )
        if self._id == ids["PLAYBACK_FILE_BOARD"] and not Path(p.file).is_file():
            raise SpecError(
                f"{self._pre()}file {p.file!r} (PLAYBACK_FILE_BOARD) does not exist",
                FILE_FIX,
            )
        try:
            desc = bs.BoardShim.get_board_descr(self._desc_id)
        except bs.BrainFlowError as e:
            raise SpecError(  # (NO_BOARD: it said no fix)
                f"{self._pre()}BrainFlow {_version()} has no description of board "
                f"{bs.BoardIds(self._desc_id).name} ({e}): it streams nothing",
                "use a board that streams (SYNTHETIC_BOARD, CYTON_BOARD, ...: a name of brainflow's BoardIds)",
            ) from e
        if self._id == ids["PLAYBACK_FILE_BOARD"]:  # (lines of another board's rows: skipped, the run stalled)
            check_rows(bs, p.file, self._desc_id, self._pre(), FILE_FIX)
        rows, names, types, scale = [], [], [], []
        for group in p.channels:
            key = f"{group}_channels"
            taken = [r for r in desc.get(key, []) if r not in rows]
            if not desc.get(key):
                raise SpecError(
                    f"{self._pre()}board {desc.get('name', self._desc_id)} has no {group} channels",
                    f"take channels among {', '.join(g for g in GROUPS if desc.get(f'{g}_channels')) or 'none'}",
                )
            labels = _labels(group, desc, len(desc[key]))
            for r, label in zip(desc[key], labels):
                if r in taken:
                    rows.append(r)
                    names.append(label)
                    types.append("misc" if group == "accel" else group)
                    scale.append(1e-6 if group in EXG else 1.0)
        self._rows = np.asarray(rows)
        self._scale = np.asarray(scale)[:, None]
        self._rate = float(desc["sampling_rate"])
        self._ts_row = desc.get("timestamp_channel")
        self._pkg_row = desc.get("package_num_channel")
        check = p.package_check
        self._check = bs.BoardIds(self._desc_id).name in PER_SAMPLE if check is None else check
        units = "V" if all(t in EXG for t in types) else ""
        self.out_specs = {
            "out": StreamSpec("signal", self._rate, (len(rows),), "float64", tuple(names), tuple(types), units)
        }
        self.latency_samples = 0
        self._reset_stream()
        return self.out_specs

    def _reset_stream(self) -> None:
        """A fresh stream (configure(), and open() after close()): its sample count (toward duration, max_samples and
        a playback file's end) and its counters start at 0."""
        p = self.params
        self._n = 0
        self._closed = False  # close() released a session: the next open() starts a new count
        for name in STREAM_COUNTERS:
            self.counters.pop(name, None)
        self._limit = p.max_samples
        if p.duration is not None:
            lim = int(round(p.duration * self._rate))
            self._limit = lim if self._limit is None else min(self._limit, lim)
        self._held: tuple[np.ndarray, bool] | None = None
        self._reopened = False  # close() ended the session: the first block of the next one is flagged gap
        self._last_pkg: float | None = None
        self._last_stamp: float | None = None  # BrainFlow's Unix-time stamp of the sample of _last_pkg
        self._last_ts: float | None = None
        self._fit = TimestampFit(self._rate, p.smoothing_halftime)
        self._idle_since: float | None = None
        self._stalled = False
        self._done = False

    def open(self) -> None:
        """Prepare and start the session; a failure releases what was prepared and is a SpecError with the fix."""
        if self._board is not None:
            return
        if self._closed:  # a new session after close(): the old one's count went on (a second run of a playback
            self._new_count()  # file read nothing, or stopped short by the samples the first read; its losses added)
        bs = self._bs or import_brainflow()
        p = self.params
        inp = bs.BrainFlowInputParams()
        for name in CONNECTION:
            setattr(inp, name, getattr(p, name))
        if p.master_board is not None:
            inp.master_board = board_id(bs, p.master_board, "master_board")
        if self._id == int(bs.BoardIds.PLAYBACK_FILE_BOARD.value):  # the file's end is the stream's
            try:  # (the lines the board streams, read one by one: DataFilter.read_file loaded the whole file)
                n = streamed_samples(p.file, int(bs.BoardShim.get_num_rows(self._desc_id)), self._ts_row, self._pre())
            except OSError as e:
                raise SpecError(f"{self._pre()}cannot read file {p.file!r} ({e})", FILE_FIX) from None
            self._limit = n if self._limit is None else min(self._limit, n)
        try:  # the BoardShim in self._board only (no local to hold it): _release_board lets go of it
            self._board = bs.BoardShim(self._id, inp)
            self._board.prepare_session()
            self._board.start_stream()
        except BaseException as e:  # BrainFlow's error, a KeyboardInterrupt between prepare and start, ...
            self._release_board(e)
            if isinstance(e, bs.BrainFlowError):
                raise SpecError(f"{self._pre()}BrainFlow cannot start board {p.board} ({e})", _fix(e, p)) from None
            raise

    def _new_count(self) -> None:
        """The count of a session opened after close(): from 0, as after configure(). Its first block is still flagged
        gap when the old session gave samples, and a block the old one held (after a package jump) goes out first,
        not counted against the new session's duration, max_samples or file end."""
        held, reopened = self._held, self._reopened
        self._reset_stream()
        self._held, self._reopened = held, reopened
        self._n = 0 if held is None else -held[0].shape[1]

    def read(self) -> dict[str, Chunk] | None:
        if self._done or (self._limit is not None and self._n >= self._limit):
            return self._end()
        if self._board is None:
            self.open()
        board, p = self._board, self.params
        assert board is not None and self._bs is not None
        if self._held is not None:
            (raw, gap), self._held = self._held, None
        else:
            want = p.chunk_size if self._limit is None else min(p.chunk_size, self._limit - self._n)
            end = time.monotonic() + p.wait
            try:
                while (have := board.get_board_data_count()) < want and time.monotonic() < end:
                    time.sleep(min(0.002, p.wait))
                raw = board.get_board_data(min(have, want)) if have else None
            except self._bs.BrainFlowError as e:
                raise RuntimeError(f"{self._who()}: BrainFlow failed reading board {p.board} ({e})") from None
            if raw is None or raw.shape[1] == 0:
                return self._idle()
            if self._reopened:  # a new session after close(): its package numbers start again, not samples lost
                gap, self._reopened = True, False  # (the samples between the two sessions were never read)
            else:
                gap = self._losses(raw)
        self._idle_since = None
        if self._stalled:
            self._stalled = False
            _log.warning("%s: board %s sends again", self._who(), p.board)
        raw = self._split(raw)
        n = raw.shape[1]
        self._n += n
        if self._limit is not None and self._n >= self._limit:
            self._done = True
        x = np.ascontiguousarray(raw[self._rows] * self._scale)
        if gap:
            self._fit.restart()
        return {"out": Chunk(x, self._times(raw), gap=gap)}

    def _losses(self, raw: np.ndarray) -> bool:
        """Count the samples lost before this block's first sample (package numbers); True when some were."""
        if not self._check or self._pkg_row is None:
            return False
        first = float(raw[self._pkg_row, 0])
        lost = 0 if self._last_pkg is None else int((first - self._last_pkg - 1) % PACKAGE_MOD)
        if lost == PACKAGE_MOD - 1:  # the same package number again (a board that repeats it): none lost
            lost = 0
        if lost and self._ts_row is not None and self._last_stamp is not None:
            # a dropout of 256 samples or more (1.02 s of a Cyton) wraps the numbers: its stamps say how many times
            by_time = (float(raw[self._ts_row, 0]) - self._last_stamp) * self._rate - 1
            lost += PACKAGE_MOD * max(0, round((by_time - lost) / PACKAGE_MOD))
        if lost:
            self.count("gaps")
            self.count("lost_samples", lost)
            if self.counters["gaps"] <= 3:  # the first few said
                _log.warning(
                    "%s: %d samples lost (package number %d after %d): the samples after them are flagged as a gap",
                    self._who(),
                    lost,
                    first,
                    self._last_pkg,
                )
        return lost > 0

    def _split(self, raw: np.ndarray) -> np.ndarray:
        """The block up to the first package-number jump in it; the rest is held for the next read, flagged gap."""
        rest = None
        if self._check and self._pkg_row is not None and raw.shape[1] > 1:
            d = np.diff(raw[self._pkg_row]) % PACKAGE_MOD
            jumps = np.flatnonzero((d != 1) & (d != 0))
            if len(jumps):
                k = int(jumps[0]) + 1
                rest, raw = raw[:, k:], raw[:, :k]
        self._keep_last(raw)  # (before the rest's losses: they count from this block's last package number)
        if rest is not None:
            self._held = (rest, self._losses(rest))
        return raw

    def _keep_last(self, raw: np.ndarray) -> None:
        """The package number (and its stamp) of the block's last sample, for the next block's losses."""
        if self._pkg_row is not None:
            self._last_pkg = float(raw[self._pkg_row, -1])
            self._last_stamp = None if self._ts_row is None else float(raw[self._ts_row, -1])

    def _times(self, raw: np.ndarray) -> float:
        """The fitted LSL-clock time of the block's first sample, from BrainFlow's Unix-time stamps."""
        now = self._now()
        offset = now - time.time()  # Unix time -> the LSL clock, measured now (a wall-clock step moves with it)
        if self._ts_row is None:
            ts = now - np.arange(raw.shape[1] - 1, -1, -1) / self._rate
        else:
            ts = fill_times(raw[self._ts_row] + offset, self._last_ts, self._rate, now)
        self._last_ts = float(ts[-1])
        return self._fit.add(ts)

    @staticmethod
    def _now() -> float:
        from .lsl_info import import_pylsl

        return float(import_pylsl().local_clock())

    def _idle(self) -> dict[str, Chunk] | None:
        now, p = time.monotonic(), self.params
        if self._idle_since is None:
            self._idle_since = now
        silent = now - self._idle_since
        if p.idle_timeout is not None and silent >= p.idle_timeout:
            self.count("idle_timeout")
            _log.warning("%s: board %s ended: nothing arrived for %g s (idle_timeout)", self._who(), p.board, silent)
            return self._end()
        if not self._stalled and silent >= STALL_S:
            self._stalled = True
            self.count("stalls")
            _log.warning(
                "%s: board %s sent nothing for %.0f s: check that it is on and in range (end it with idle_timeout)",
                self._who(),
                p.board,
                silent,
            )
        return {}

    def _end(self) -> None:
        self._done, self._held = True, None
        return None

    def reset(self) -> None:
        """Forget the time fit and the package count (the runner flags a restart as a gap); the samples so far stay."""
        if getattr(self, "_fit", None) is not None:
            self._fit.restart()
            self._last_pkg = None

    def finish_all(self):
        """At a stop: the samples after a package-number jump that the last read held for the next, flagged gap."""
        outs = []
        while self._held is not None and not self._done and (out := self.read()):
            outs.append(out)
        return outs or [{}]

    def close(self) -> None:
        """Stop and release the session (harmless twice, or after a failed open()). A read() after it opens a new
        session (by hand): its first block is flagged gap, not counted as samples lost against the old session's
        package numbers (it was: some hundred lost_samples and a warning), and its samples and counters are counted
        from 0 (a playback file replays from its start to its end again)."""
        if self._board is not None:
            self._closed = True
            self._reopened = self._reopened or self._n > 0
        self._idle_since, self._stalled = None, False  # a new session's silence counts from its own first idle read
        self._release_board()

    def _release_board(self, failure: BaseException | None = None) -> None:
        """Release the session now, not when the BoardShim is collected, and let go of the BoardShim: its __del__
        releases any prepared session of its board and connection, so one kept by a traceback (a notebook keeps the
        last) and collected later released the session a node opened since. A Ctrl-C while releasing (between
        BrainFlow's stop_stream and release_session) is raised with its frames cleared of the BoardShim, whose
        __del__ then finishes the release; the frames of `failure` (what ended open()) are cleared too."""
        board, self._board = self._board, None
        if board is None:
            return
        try:
            _release(board)
        except BaseException as again:
            traceback.clear_frames(again.__traceback__)
            raise
        finally:
            if failure is not None:
                traceback.clear_frames(failure.__traceback__)
            del board


def _labels(group: str, desc: dict, n: int) -> list[str]:
    if group == "eeg" and desc.get("eeg_names"):
        names = [s.strip() for s in str(desc["eeg_names"]).split(",")]
        if len(names) == n and len(set(names)) == n:
            return names
    if group == "accel" and n == 3:
        return ["accel_x", "accel_y", "accel_z"]
    return [f"{group.upper() if group in EXG else group}{i + 1}" for i in range(n)]


def _release(board) -> None:
    """Stop and release a session, whatever state it is in (safe twice)."""
    from brainflow.board_shim import BrainFlowError

    try:
        if board.is_prepared():
            try:
                board.stop_stream()
            except BrainFlowError:
                pass  # not streaming
            board.release_session()
    except BrainFlowError as e:
        _log.warning("brainflow_source: releasing the session: %s", e)


def _fix(e, p: BrainFlowSourceParams) -> str:
    code = int(getattr(e, "exit_code", 0))
    fix = HELP.get(code, "check the board's connection parameters (BrainFlow's docs for your board)")
    given = ", ".join(f"{k}={getattr(p, k)!r}" for k in CONNECTION if getattr(p, k))
    return f"{fix} (given: {given or 'no connection parameters'})"


__all__ = ["BrainFlowSource", "BrainFlowSourceParams", "board_id", "import_brainflow"]
