"""Lab Streaming Layer (LSL) outlet, through pylsl (which ships liblsl); the inlet is in lsl.py.

lsl_outlet (sink): publishes its input.
  Signals (and 1-D features) go out as a regular stream of the same rate and channel count
  (float32 -> cf_float32, others -> cf_double64), channel label/type/unit in desc. Events and tokens
  (decisions) go out as an irregular-rate, 1-channel string marker stream (type "Markers" unless
  given): an event's marker is its label from `spec.labels` or else its integer code; a token is its
  integer id (float ids that are no integer, NaN, dropped: counted bad_marker); the code table goes
  into `desc/events` so lsl_inlet maps labels back to codes.
  `timestamps: now` stamps with the LSL clock at push (what a live app would do; the markers of one chunk: the
  last now, the others back-dated by their onsets, as pylsl does a chunk's samples); `stream` uses the
  chunk times, right when the stream came from lsl_inlet (its t0 is already LSL time).
  At the end of its input, while consumers are attached, the outlet stays up until LINGER_S after its last push: liblsl
  drops every sample an inlet had received but not pulled once its outlet goes, so a consumer that pulls every 0.5 s
  (a recorder's loop) lost the last half second of a graph's stream.

Discovery: liblsl reads the config file named by the env var LSLAPICFG when first used; the repo's
configs/lsl_api.cfg keeps everything on loopback (set LSLAPICFG before the first import of pylsl).
"""

from __future__ import annotations

import logging
import time
import weakref
from typing import Any, Literal

import numpy as np
from pydantic import Field
from wavegraph.pipeline.chunk import Chunk
from wavegraph.pipeline.node import NodeParams, Sink
from wavegraph.pipeline.spec import SpecError

from .column_labels import column_labels
from .lsl_info import MARKER_TYPE, describe_streams, import_pylsl, resolve
from .lsl_units import channel_units

_log = logging.getLogger("wavegraph.lsl")
_PUBLISHED: dict[str, weakref.ref] = {}  # source_id -> the lsl_outlet of this process that published it last
STAMPS_OFF_S = 600.0  # s: chunk times this far from the LSL clock are on another clock (lsl_inlet's CLOCK_OFF_S)
LINGER_S = 1.0  # s: an ending outlet with consumers stays up this long after its last push, for them to pull it


class LslOutletParams(NodeParams):
    name: str = Field(..., min_length=1, description="stream name that consumers resolve")
    type: str | None = Field(None, description="stream type (default: EEG for EEG signals, Markers for events)")
    source_id: str | None = Field(None, description="unique source id (default wavegraph-<name>)")
    timestamps: Literal["now", "stream"] = Field("now", description="LSL clock at push, or the chunk times")
    # liblsl takes an int32 (1e29 passed validate, then failed the run with ctypes' 'int too long to convert')
    chunk_size: int = Field(0, ge=0, le=2**31 - 1, description="transmission chunk in samples (0: one per push)")


class LslOutlet(Sink[LslOutletParams]):
    """Publish a signal as a regular LSL stream, or events/tokens as an irregular string marker stream."""

    inputs = ("in",)
    Params = LslOutletParams

    def __init__(self, **params: Any):
        super().__init__(**params)
        self._outlet = None
        self.pushed = 0
        self._pushed_at: float | None = None  # monotonic: the last push (finish)

    def configure(self, in_specs):
        pylsl = import_pylsl()
        spec = in_specs["in"]
        p = self.params
        self._markers = spec.kind in ("events", "tokens")
        if self._markers:
            if spec.kind == "tokens" and spec.shape not in ((), (1,)):
                raise SpecError(
                    f"lsl_outlet: tokens of shape {spec.shape} cannot be single markers",
                    "publish one token id per frame",
                )
            stype = p.type or MARKER_TYPE
            info = pylsl.StreamInfo(
                p.name, stype, 1, pylsl.IRREGULAR_RATE, pylsl.cf_string, p.source_id or f"wavegraph-{p.name}"
            )
            self._labels = {int(c): s for c, s in spec.labels}
            events = info.desc().append_child("events")
            for c, s in spec.labels:
                ev = events.append_child("event")
                ev.append_child_value("code", str(int(c)))
                ev.append_child_value("label", s)
        else:
            if spec.kind not in ("signal", "features") or len(spec.shape) != 1 or spec.rate <= 0:
                raise SpecError(
                    f"lsl_outlet: cannot publish a {spec.describe()} stream",
                    "publish (channels, samples) signals, 1-D features, events or tokens",
                )
            if np.dtype(spec.dtype).kind == "c":
                raise SpecError(
                    "lsl_outlet: LSL has no complex format", "publish magnitudes (e.g. after a bandpower node)"
                )
            n = spec.shape[0]
            self._np = np.float32 if spec.dtype == "float32" else np.float64
            fmt = pylsl.cf_float32 if self._np is np.float32 else pylsl.cf_double64
            types = set(spec.channel_types)
            stype = p.type or ("EEG" if types == {"eeg"} else "Audio" if types == {"audio"} else "Signal")
            info = pylsl.StreamInfo(p.name, stype, n, float(spec.rate), fmt, p.source_id or f"wavegraph-{p.name}")
            channels = info.desc().append_child("channels")
            names, col_types = column_labels(spec, n)  # an stft's frames: "O1:12.5Hz" (names[i] was an IndexError)
            units = channel_units(spec.units, col_types, n)  # MNE-LSL's words; "SI" is none of them
            for i in range(n):
                ch = channels.append_child("channel")
                ch.append_child_value("label", names[i])
                if col_types:
                    ch.append_child_value("type", col_types[i])
                if unit := units[i]:
                    ch.append_child_value("unit", unit)
        self._info = info
        self._kind = spec.kind
        self._rate = float(spec.rate)
        self.latency_samples = 0
        return {}

    def open(self):
        """Say when a stream of this source_id is already published (an earlier run of the graph still going):
        consumers that pick a stream by source_id, and liblsl's `recover`, could take either (looks 0.3 s).
        Then publish the stream, so that a consumer (the stimulus program) can subscribe before the first chunk."""
        sid = self._info.source_id()
        other = _PUBLISHED[sid]() if sid in _PUBLISHED else None
        if other is not None and other is not self and other._outlet is not None:  # another outlet of this graph
            self.count("source_id_taken")
            _log.warning(
                "lsl_outlet '%s' publishes source_id '%s', as '%s' of this graph does: consumers may take either; "
                "give each its own `name` (or `source_id`)",
                self.node_id,
                sid,
                other.node_id,
            )
        elif "'" not in sid and (twins := resolve(import_pylsl(), f"source_id='{sid}'", 0.3)):
            self.count("source_id_taken")
            _log.warning(
                "lsl_outlet: source_id '%s' is already published by %s (an earlier run still going?): consumers "
                "may take either; stop the other one or give this outlet its own `source_id`",
                sid,
                describe_streams(twins),
            )
        self._open()  # now, not at the first chunk: a consumer that subscribes meanwhile gets the first one too

    def _open(self):
        pylsl = import_pylsl()
        self._outlet = pylsl.StreamOutlet(self._info, chunk_size=self.params.chunk_size)
        _PUBLISHED[self._info.source_id()] = weakref.ref(self)

    def process(self, inputs):
        c = inputs["in"]
        if c.data.size == 0:
            return {}
        if self._outlet is None:
            self._open()
        assert self._outlet is not None  # opened above
        self._pushed_at = time.monotonic()
        if self._markers:
            self._push_markers(c)
            return {}
        x = c.data if self._kind == "features" else c.data.T  # LSL wants (samples, channels)
        x = np.ascontiguousarray(x, dtype=self._np)
        if self.params.timestamps == "stream":
            ts = c.t0 + np.arange(x.shape[0]) / self._rate
            self._check_clock(float(ts[0]))
            self._outlet.push_chunk(x, ts.tolist())
        else:
            self._outlet.push_chunk(x)
        self.pushed += x.shape[0]
        return {}

    def _push_markers(self, c: Chunk):
        assert self._outlet is not None  # process() opened it
        pylsl = import_pylsl()
        if self._kind == "events":
            rows = np.atleast_2d(c.data)
            # a NaN/inf onset or code, or a code beyond +-2**53, would go out as a NaN time stamp or a
            # garbage integer (int64 of NaN): dropped and counted
            ok = np.isfinite(rows[:, 0]) & np.isfinite(rows[:, 2]) & (np.abs(rows[:, 2]) <= 2**53)
            if not ok.all():
                self.count("bad_marker", int(np.count_nonzero(~ok)))
                rows = rows[ok]
            times, codes = rows[:, 0], rows[:, 2].astype(np.int64)
            markers = [self._labels.get(int(k), str(int(k))) for k in codes]
        else:
            ids = np.asarray(c.data).reshape(-1)
            times = c.t0 + np.arange(ids.size) / self._rate if self._rate > 0 else np.full(ids.size, c.t0)
            if ids.dtype.kind == "f":  # float ids (a node of one's own): NaN for 'none', 2.5 (was sent as '2')
                ok = np.isfinite(ids) & (ids == np.round(ids)) & (np.abs(ids) <= 2**53)
                if not ok.all():
                    self.count("bad_marker", int(np.count_nonzero(~ok)))
                    ids, times = ids[ok], times[ok]
            markers = [str(int(k)) for k in ids]
        if self.params.timestamps == "stream" and len(times):
            self._check_clock(float(times[0]))
        elif len(times):  # now: the last, the others back-dated by their onsets (as push_chunk does a signal's samples)
            times = pylsl.local_clock() - (times[-1] - np.asarray(times, dtype=np.float64))
        for m, t in zip(markers, times):
            self._outlet.push_sample([m], float(t))
        self.pushed += len(markers)

    def _check_clock(self, t: float) -> None:
        """With `timestamps: stream`, say once when the chunk times are far off the LSL clock (a file replayed, whose
        times start at 0 or at its recording session's): consumers that align by timestamp would not line up."""
        if "stamps_off_clock" in self.counters:
            return
        off = t - import_pylsl().local_clock()
        if abs(off) > STAMPS_OFF_S:
            self.count("stamps_off_clock")
            _log.warning(
                "lsl_outlet: stream '%s' is stamped with its chunk times (`timestamps: stream`), %.4g s off the LSL "
                "clock (a replayed file's times?): consumers that align it by timestamp will not line up; use "
                "`timestamps: now` unless its source is an lsl_inlet",
                self.params.name,
                off,
            )

    def finish(self):
        """At the end of the input: while consumers are attached, stay up until LINGER_S after the last push, so that
        they pull the last samples (liblsl drops what an inlet had received but not pulled once its outlet goes)."""
        if self._outlet is not None and self._pushed_at is not None:
            wait = self._pushed_at + LINGER_S - time.monotonic()
            if wait > 0 and self._outlet.have_consumers():
                time.sleep(wait)
        return {}

    def close(self):
        self._outlet = None  # pylsl destroys the outlet; consumers see it disappear
