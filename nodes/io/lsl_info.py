"""What an LSL stream's info says, read for lsl_inlet and `wavegraph devices`: one line per stream, the
channel labels/types/units of desc/channels (repeated labels made unique), the desc/events code table."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
from wavegraph.pipeline.building import BuildStopped, stop_asked
from wavegraph.pipeline.spec import SpecError

from .lsl_config import warn_missing_config
from .units import volt_scale

MARKER_TYPE = "Markers"  # the LSL stream type of marker streams (lsl_outlet's default for events)
FORGET_S = 5.0  # s: RestartWatch's resolver of the source_id forgets an outlet that stopped answering this long (gone)


def import_pylsl():
    """pylsl, or a SpecError saying what is missing. Without $LSLAPICFG, liblsl gets lsl_default.cfg (its
    defaults, logging errors only) instead of printing INFO lines on every command."""
    os.environ.setdefault("LSLAPICFG", str(Path(__file__).with_name("lsl_default.cfg")))
    warn_missing_config()  # a path that does not exist: liblsl's one error line, and its defaults
    try:
        import pylsl
    except (ImportError, OSError, RuntimeError) as e:
        raise SpecError(
            f"LSL is unavailable: cannot import pylsl ({type(e).__name__}: {e})",
            "pip install pylsl (its wheels ship liblsl)",
        ) from e
    return pylsl


def resolve(pylsl, pred: str, timeout: float, seen: list | None = None) -> list:
    """The streams matching `pred` seen within `timeout` s, polled from a ContinuousResolver so that Ctrl-C
    stops the wait at once: pylsl.resolve_bypred is one C call, which held Ctrl-C until its timeout was over
    (and in a process without an outlet it took 5.5 s whatever its timeout). With `seen`, every stream seen
    meanwhile is added to it when none matched (what to list: a 1 s look after the wait missed streams that
    were there all along, on a loaded machine). A GraphBuilder.stop() asked meanwhile ends the wait (BuildStopped)."""
    resolvers = [pylsl.ContinuousResolver(pred=pred)]
    if seen is not None:
        resolvers.append(pylsl.ContinuousResolver())
    try:
        end = time.monotonic() + timeout
        while not (found := resolvers[0].results()) and time.monotonic() < end:
            if stop_asked():  # GraphBuilder.stop() from another thread, which Ctrl-C does not reach
                raise BuildStopped(f"stopped while waiting for an LSL stream with {pred}")
            time.sleep(0.02)
        if seen is not None and not found:
            seen.extend(resolvers[1].results())
        return list(found)
    finally:  # liblsl's teardown of a resolver can block for 5 s: a daemon thread drops the last reference
        last = [resolvers]
        del resolvers  # (a thread given it as an argument dropped it first: the teardown ran here)
        threading.Thread(target=last.clear, daemon=True).start()


def stream_lines(infos) -> list[str]:
    """One line per stream: name, type, channels, rate, format, host, source_id."""
    return [
        f"'{i.name()}' (type {i.type() or '-'}, {i.channel_count()} ch, {i.nominal_srate():g} Hz, "
        f"{_FORMAT_NAMES.get(i.channel_format(), '?')}, host {i.hostname()}, source_id {i.source_id() or '-'})"
        for i in infos
    ]


def _layout(info) -> str:
    return f"{info.channel_count()} ch at {info.nominal_srate():g} Hz, {_FORMAT_NAMES.get(info.channel_format(), '?')}"


def _as_said(what: str, values: list) -> list:
    """Channel labels or types as they are; units as their factor to volts when voltages ('uV' is 'microvolts')."""
    return [volt_scale(v) if what == "units" and v and volt_scale(v) is not None else v for v in values]


class RestartWatch:
    """With `recover`: what changed when the outlet of `info`'s source_id is back (an amplifier app restarted
    with other settings) with another channel count, rate or format (liblsl's `recover` then never reconnects:
    the inlet would wait in silence) or other channel labels, types or units (liblsl reconnects: the graph would go on
    with the old names on other channels, or scale volts as the microvolts they were). A ContinuousResolver for that
    source id stays open from the start, so its answers are there when a check needs them: one made for each check
    took longer than the check could wait on a loaded machine, and a restart went unseen. A restarted outlet's labels
    are read once. Another resolver, for the stream's name and type, sees the app back under a new source_id (one
    made up at each start), which liblsl never reconnects to."""

    def __init__(self, pylsl, info, pinned: bool = False):
        """`pinned`: the graph asked for this source_id (two amplifiers of one name): another one is no restart."""
        self.pylsl, self.info = pylsl, info
        sid = info.source_id()
        usable = bool(sid) and "'" not in sid
        self._resolver = pylsl.ContinuousResolver(pred=f"source_id='{sid}'", forget_after=FORGET_S) if usable else None
        same_name = " and ".join(f"{k}='{v}'" for k, v in (("name", info.name()), ("type", info.type())) if v)
        usable = usable and not pinned and "'" not in info.name() + info.type()
        self._named = pylsl.ContinuousResolver(pred=same_name) if usable else None
        self._same: set[float] = set()  # created_at of restarted outlets found unchanged (not re-read)
        self.back_at: float | None = None  # the created_at of the last of them (lsl_checks: what its restart lost)
        self._seen = False  # the resolver has seen the outlet the inlet opened (gone())

    def changed(self, timeout: float) -> str | None:
        """What changed, or None: nothing, or no restarted outlet seen within `timeout` s (it returns as soon as
        one is seen; 0: what the resolver has seen by now)."""
        if self._resolver is None:
            return None
        info, was = self.info, _layout(self.info)
        known = (info.created_at(), *self._same)
        end = time.monotonic() + timeout
        while True:  # the old outlet, gone or going, can be all it has seen yet
            restarted = [i for i in self._resolver.results() if i.created_at() not in known or _layout(i) != was]
            if restarted or time.monotonic() >= end:
                break
            time.sleep(0.02)
        sid = info.source_id()
        for new in restarted:
            if _layout(new) != was:
                return f"stream '{info.name()}' (source_id {sid}) came back with {_layout(new)}, it had {was} when the graph started"
            try:  # restarted: its labels are in the full info only
                full = self.pylsl.StreamInlet(new).info(timeout=1.0)
            except (self.pylsl.util.TimeoutError, self.pylsl.util.LostError):  # gone again: the next check sees
                return None
            was_desc, now_desc = channel_info(info, info.channel_count()), channel_info(full, info.channel_count())
            for what, old, now in zip(("channels", "channel types", "units"), was_desc, now_desc):
                if _as_said(what, now) != _as_said(what, old):  # (other units: volts scaled as microvolts, or back)
                    return f"stream '{info.name()}' (source_id {sid}) came back with {what} {now}, it had {old}"
            self._same.add(new.created_at())
            self.back_at = new.created_at()
        return None

    def gone(self) -> bool:
        """Whether the outlet the inlet opened no longer answers (FORGET_S after it went): what tells a marker stream's
        outlet gone, whose silence says nothing (markers are sparse)."""
        if self._resolver is None:
            return False
        there = any(i.created_at() == self.info.created_at() for i in self._resolver.results())
        self._seen = self._seen or there  # (not seen yet, just after configure, is not gone)
        return self._seen and not there

    def new_source_id(self) -> str | None:
        """What to say of an outlet of the stream's name and type on its host, started after it, under another
        source_id (the amplifier app restarted and made up a new one): liblsl's recover waits for the old one. Asked
        only while the stream is silent (a second app of the name beside a sending amplifier is no restart), or a
        marker stream's outlet is gone."""
        info, sid = self.info, self.info.source_id()
        for new in self._named.results() if self._named is not None else []:
            if new.source_id() != sid and new.hostname() == info.hostname() and new.created_at() > info.created_at():
                was, now = _layout(info), _layout(new)
                layout = f", with {now} (it had {was})" if now != was else ""
                return (
                    f"stream '{info.name()}' (source_id {sid}) {'is gone' if self.gone() else 'is silent'} and an "
                    "outlet of its name and type came up on "
                    f"host {new.hostname()} under another source_id, {new.source_id() or '-'}{layout} (its app restarted "
                    f"and made up a new id?): `recover` reconnects only to {sid}; give the sending app a fixed "
                    "source_id (the amplifier's serial number)"
                )
        return None

    def close(self) -> None:
        """Drop the resolvers (liblsl's teardown of one can block for 5 s: a daemon thread drops them)."""
        last, self._resolver, self._named = [self._resolver, self._named], None, None
        threading.Thread(target=last.clear, daemon=True).start()


def check_declared(p, info, n: int, rate: float, names: tuple) -> None:
    """lsl_inlet: the stream must have what the params `p` declare (what `validate` assumed without it): a signal
    found for `type: Markers` (validate took it as events) is refused."""
    if p.type == MARKER_TYPE:
        raise SpecError(
            f"lsl_inlet: stream {describe_streams([info])} is typed {MARKER_TYPE} but is a signal, not markers (a "
            "marker stream is a string stream, or numeric with one channel, at an irregular rate: nominal_srate 0)",
            "point `name` at the marker stream; if this stream is a signal, give `type` its real type "
            "(or fix the type or rate in the sending app)",
        )
    want_n = len(p.channels) if isinstance(p.channels, list) else p.channels
    if want_n is not None and n != want_n:
        raise SpecError(
            f"lsl_inlet: stream '{info.name()}' has {n} channels, the graph declares {want_n}",
            "fix `channels` (or drop it to take what the stream has)",
        )
    if p.rate is not None and abs(rate - p.rate) > 1e-9 * p.rate:
        same = f"{rate:g}" == f"{p.rate:g}"  # 250.00001 and 250, 333.3333333333333 and 333.333: every digit shown
        has, want = (repr(float(rate)), repr(float(p.rate))) if same else (f"{rate:g}", f"{p.rate:g}")
        raise SpecError(
            f"lsl_inlet: stream '{info.name()}' runs at {has} Hz, the graph declares {want} Hz",
            f"fix `rate` (`rate: {rate!r}` is what the stream declares), or drop it to take what the stream has",
        )
    if isinstance(p.channels, list) and tuple(p.channels) != names:
        if not any(channel_info(info, n)[0]):  # (OpenBCI GUI, Timeflux: no desc/channels) no label can match
            raise SpecError(
                f"lsl_inlet: stream '{info.name()}' gives no channel labels (desc/channels), so its channels are "
                f"named ch0..ch{n - 1}; the graph declares {p.channels}",
                f"give the count instead (`channels: {n}`), or have the sending app describe its channel labels",
            )
        raise SpecError(
            f"lsl_inlet: stream '{info.name()}' has channels {list(names)}, the graph declares {p.channels}",
            "fix `channels`, or give a count instead of names",
        )


def check_declared_markers(p, info) -> None:
    """lsl_inlet: a marker stream found where the params `p` declare a signal (`channels` or `rate`, what `validate`
    assumed without the stream; not `type: Markers`) is refused: the nodes after it were checked for that signal."""
    if p.type == MARKER_TYPE or (p.channels is None and p.rate is None):
        return
    want_n = len(p.channels) if isinstance(p.channels, list) else p.channels
    want = " ".join(([f"of {want_n} channels"] if want_n else []) + ([f"at {p.rate:g} Hz"] if p.rate else []))
    numeric = info.channel_format() != 3  # (cf_string) a one-channel numeric stream of rate 0: `rate` takes it
    raise SpecError(
        f"lsl_inlet: stream '{info.name()}' is a marker stream ({describe_streams([info])}), the graph declares a "
        f"signal {want}",
        "point `name` at the signal stream (`wavegraph devices` lists the visible streams), or drop `channels` and "
        "`rate` to take this one as markers (events)"
        + ("; or give `rate` (the rate it sends) to read it as a signal" * numeric),
    )


WARN_UNKNOWN = 10  # distinct unknown markers an inlet logs a warning for (then it only counts them)


def warn_unknown(log, warned: set, stream: str, marker) -> None:
    """Say (once per marker, for the first few) that a marker is dropped, while the session can still be
    fixed: a calibration run whose trial markers are all unknown records none."""
    text = marker.decode("utf-8", "replace") if isinstance(marker, bytes) else str(marker)
    if len(warned) >= WARN_UNKNOWN or text in warned:
        return
    warned.add(text)
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if np.isfinite(value) and value.is_integer() and abs(value) > 2**53:
        log.warning(
            "lsl_inlet: marker %r of stream '%s' is an integer beyond +-2**53, which an event row (float64) cannot "
            "hold exactly: dropped, counted unknown_marker; send smaller codes (or map a string marker with "
            "marker_codes)",
            text[:80],
            stream,
        )
        return
    log.warning(
        "lsl_inlet: marker %r of stream '%s' has no code (not an integer, not in the outlet's desc/events "
        "nor in marker_codes): dropped, counted unknown_marker; give it a code with marker_codes",
        text[:80],
        stream,
    )


def stall_said(stream: str, silent_s: float, never: bool, p, source_id: str) -> str:
    """What to say of a signal stream that has sent nothing for `silent_s` s (`never`: not one sample yet) while
    the inlet still waits for it (its outlet still there, or gone with `recover`); `p` the inlet's params."""
    if never:
        what = (
            f"stream '{stream}' has sent no sample in {silent_s:.1f} s since the graph connected to it (an "
            "amplifier app that publishes its stream before its acquisition is started?)"
        )
    elif p.recover:
        what = (
            f"stream '{stream}' has sent nothing for {silent_s:.1f} s (the amplifier paused, its link is down, or its "
            f"outlet is gone: `recover: true` waits for an outlet of source_id {source_id or '-'} to come back)"
        )
    else:
        what = f"stream '{stream}' has sent nothing for {silent_s:.1f} s (the amplifier paused, or its link is down?)"
    if p.idle_timeout is not None:
        then = f"the stream ends after {p.idle_timeout:g} s without data (idle_timeout)"
    else:
        then = "the run waits for it; `idle_timeout: SECONDS` ends the stream after that long without data"
    return f"{what}: {then}; start or check the sending app (`wavegraph devices` lists the visible streams)"


def unrecoverable_said(stream: str) -> str:
    """What to say of a stream without a source_id read with `recover: true`, which liblsl cannot do for it."""
    return (
        f"stream '{stream}' has no source_id, and liblsl recovers only streams that have one: `recover: true` cannot "
        "reconnect to it, and the stream ends when its outlet goes away; set a source_id in the sending app (pylsl: "
        "StreamInfo's source_id, e.g. the amplifier's serial number)"
    )


def outlet_gone_said(info, recover: bool = False) -> str:
    """The end of a stream whose outlet went away. liblsl has said it first, from the inlet's receiver thread, at its
    error level (which configs/lsl_api.cfg and lsl_default.cfg keep: level -2): 'data_receiver.cpp ... ERR| Stream
    transmission broke off (Input stream error.); re-connecting...', though with recover: false it does not re-connect.
    No log level drops that line alone (-3 also hides liblsl's real errors: a config file not found, no network
    interface; its stderr is its own), so this says what it was."""
    name = info.name() if info is not None else "?"
    why = "it has no source_id, which `recover` needs" if recover else "`recover: true` waits for it"
    return (
        f"stream '{name}' ended: its outlet went away ({why}); liblsl's line 'Stream transmission "
        "broke off (Input stream error.); re-connecting...' just before is this end, not an error (it does not re-connect)"
    )


def backlog_said(stream: str, waiting_s: float, buffer_s: int) -> str:
    """What to say when `waiting_s` s of a stream wait in liblsl's buffer of `buffer_s` s."""
    return (
        f"{waiting_s:.1f} s of stream '{stream}' wait to be read (the graph reads slower than real time: a slow node "
        "or a loaded machine, see compute us in the summary; or the app sent them at once): liblsl keeps "
        f"buffer_s = {buffer_s} s and drops the oldest beyond it (gaps); lighten the graph, give it its own cores, "
        "or raise buffer_s"
    )


JITTER_S = 1.0  # s: a gap shorter than this may be timestamps that jitter (gap_said names gap_tolerance)


def gap_said(stream: str, step_s: float, last: bool, tolerance: float | None = None) -> str:
    """What to say of a forward jump of `step_s` s in a regular stream's timestamps (`last`: the last one said); one
    under JITTER_S names `gap_tolerance` (its value `tolerance`): a wireless amplifier's packets stamped on arrival
    jump that far with no sample lost, and each gap restarts the decoders' windows."""
    jitter = _jitter_fix(tolerance) if tolerance is not None and step_s < JITTER_S else ""
    return (
        f"stream '{stream}' has a gap of {step_s:.4g} s in its timestamps (samples lost on the way, dropped from "
        "liblsl's full buffer, or the amplifier paused): taken as a gap (the recording gets a boundary there), "
        "counted gaps" + jitter + ("; further gaps are only counted" if last else "")
    )


def unordered_said(stream: str, regular: bool) -> str:
    """What to say, once, of timestamps that do not increase (`regular`: a signal's, else markers that go back)."""
    if not regular:
        return (
            f"stream '{stream}' sends markers stamped before the one before (the stimulus program stamps them late, "
            "or with two clocks?): they are kept in their order of arrival, counted non_monotonic"
        )
    return (
        f"stream '{stream}' stamps samples with a time not after the one before (an app that stamps a whole chunk "
        "with one time, or back-dates chunks at a wrong rate?): the chunk times follow a line fitted to the "
        "timestamps (smoothing_halftime), counted non_monotonic; stamp each sample (pylsl push_chunk back-dates "
        "a chunk given one time) in the sending app"
    )


def _jitter_fix(tolerance: float) -> str:
    """The fix for a jump under JITTER_S that may be timestamps that jitter, not samples lost or a clock reset."""
    return (
        "; if the amplifier lost no sample there (its timestamps jitter: a wireless link's packets stamped as they "
        f"arrive, a burst after a stall), raise `gap_tolerance` (now {tolerance:g} s) above the jitter"
    )


def jump_said(stream: str, what: str, tolerance: float | None = None) -> str:
    """What to say when a stream's timestamps `what` (went back, jumped off the LSL clock); `tolerance` (the inlet's
    gap_tolerance) for a step back under JITTER_S, which an app stamping its chunks as they arrive makes after a stall
    (with the LSL clock: 'stamp with the LSL clock' alone misled it)."""
    return (
        f"the timestamps of stream '{stream}' {what}: taken as a gap (the recording gets a boundary there); "
        "markers of other streams stamped on the old clock will not line up; stamp with the LSL clock "
        "(pylsl.local_clock) in the sending app" + (_jitter_fix(tolerance) if tolerance is not None else "")
    )


def nonfinite_said(log, said: set, stream: str, names, bad: np.ndarray) -> None:
    """Say which channels of `stream` carry NaN/inf (bad: a (channels, samples) mask), each channel once (`said`):
    a lead off or an amplifier overrange would otherwise only show as the filters' nan_zeroed."""
    new = [int(i) for i in np.flatnonzero(bad.any(axis=1)) if int(i) not in said]
    if not new:
        return
    said.update(new)
    shown = ", ".join(str(names[i]) if names else f"ch{i}" for i in new[:8]) + (" ..." if len(new) > 8 else "")
    log.warning(
        "lsl_inlet: stream '%s' sends NaN or inf on channel(s) %s (an electrode off, an amplifier overrange, or the "
        "app's mark of a missing value?): passed on as they are, counted nonfinite (filters zero them, counted "
        "nan_zeroed; a recorder writes them); check those electrodes and the amplifier's range",
        stream,
        shown,
    )


def onehot_markers(data, ts, names: list[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The annotations of MNE-LSL's Player (its default `annotations_encoding='one-hot'`: a stream of type
    'annotations' at rate 0, one float channel per description, a sample's non-zero channel its annotation and
    the value its duration, -1 for none): (descriptions, times, durations), one per non-zero value."""
    x = np.nan_to_num(np.asarray(data, dtype=np.float64), nan=0.0)
    rows, cols = np.nonzero(x)
    return [names[c] for c in cols], np.asarray(ts)[rows], np.maximum(x[rows, cols], 0.0)


AHEAD_S = 1.0  # s: a signal's sample stamped this far after the LSL clock's now is on another clock


def clock_far(off: np.ndarray | float, markers: bool, far_s: float) -> np.ndarray:
    """Which timestamps, `off` s from the LSL clock's now, are on another clock: over `far_s` away (Unix time), or a
    signal's over AHEAD_S ahead (a sample arrives after it is taken; a stimulus program may stamp a marker ahead)."""
    off = np.asarray(off, dtype=np.float64)
    return (np.abs(off) > far_s) | (off > (np.inf if markers else AHEAD_S))


def off_clock(info, offset: float, far_s: float = 600.0) -> str:
    """What to say of a stream stamped `offset` s away from this machine's LSL clock."""
    name = info.name() if info is not None else "?"
    if abs(offset) <= far_s:  # a signal ahead (clock_far)
        return (
            f"stream '{name}' is stamped {offset:.4g} s ahead of the LSL clock, in the future, which no sample taken "
            "can be: the sending app stamps with a clock of its own, so markers and other streams will be that far "
            "off it (the recording's annotations, the decoders' windows); stamp with the LSL clock (pylsl.local_clock) "
            "in the sending app"
        )
    return (
        f"stream '{name}' is stamped {offset:.4g} s away from the LSL clock (Unix time? Timeflux's lsl Send "
        "stamps with its DataFrame's time index): markers and other streams will not line up with it; stamp "
        "with the LSL clock (pylsl.local_clock) in the sending app"
    )


def near_misses(query: dict[str, str], infos) -> str:
    """What to set for a visible stream that misses the query by one field: by case or spaces only ('eeg' for
    'EEG'), or, of the queried name, by its type or source_id; empty when none does."""
    fixes = []
    for i in infos:
        have = {"name": i.name(), "type": i.type(), "source_id": i.source_id()}
        off = [k for k, v in query.items() if have[k] != v]
        if len(off) != 1:
            continue
        k = off[0]
        if have[k].strip().casefold() == query[k].strip().casefold() or (k != "name" and "name" in query):
            fixes.append(f"stream '{i.name()}' has {k} '{have[k]}': set `{k}: {have[k]}`")
    return "; ".join(dict.fromkeys(fixes))


def which_one(p, found) -> str:
    """The fix for lsl_inlet params `p` that match several streams `found`: the `type` that tells them apart (an app
    that publishes its EEG and its markers under one name), else the name (two amplifiers' apps found by `type: EEG`),
    else the source_id, else names or source ids to change."""
    types, ids, names = [i.type() for i in found], [i.source_id() for i in found], [i.name() for i in found]
    if not p.type and all(types) and len(set(types)) == len(types):
        return "give the `type` of the one to read (" + " or ".join(f"`type: {t}`" for t in sorted(types)) + ")"
    if not p.name and all(names) and len(set(names)) == len(names):  # the first's source_id was given before
        return "give the `name` of the one to read (" + " or ".join(f"`name: {n}`" for n in sorted(names)) + ")"
    if all(ids) and len(set(ids)) == len(ids) and not p.source_id:
        return f"pick one by its source_id (`source_id: {ids[0]}`)"
    if ids[0] and len(set(ids)) == 1 and len({(i.type(), _layout(i)) for i in found}) == 1:
        hosts = sorted({i.hostname() for i in found})
        return (
            f"they are one app's stream published {len(found)} times (source_id {ids[0]}, on {' and '.join(hosts)}): "
            "the app started twice, or an earlier instance still running; close all but one"
        )
    return "give a `name` (and `type`) that only one stream has, or give the outlets distinct source ids"


def describe_streams(infos) -> str:
    return "; ".join(stream_lines(infos)) or "none"


_FORMAT_NAMES = {1: "float32", 2: "double64", 3: "string", 4: "int32", 5: "int16", 6: "int8", 7: "int64"}


def channel_info(info, n: int) -> tuple[list[str | None], list[str | None], list[str | None]]:
    """Labels, types and units from desc/channels/channel (None where absent)."""
    labels, types, units = [], [], []
    ch = info.desc().child("channels").child("channel")
    while not ch.empty() and len(labels) < n:
        labels.append(ch.child_value("label") or None)
        types.append(ch.child_value("type") or None)
        units.append(ch.child_value("unit") or None)
        ch = ch.next_sibling("channel")
    pad = [None] * (n - len(labels))
    return labels + pad, types + pad, units + pad


def desc_count_said(info, n: int) -> str | None:
    """What to say when desc/channels describes another number of channels than the `n` the stream sends (an app that
    lists a channel it does not send, or only some); None when it matches or describes none."""
    k, ch = 0, info.desc().child("channels").child("channel")
    while not ch.empty():
        k, ch = k + 1, ch.next_sibling("channel")
    if k in (0, n):
        return None
    took = f"the first {n} are taken" if k > n else f"the channels after the first {k} are named ch{k}, ..."
    return (
        f"stream '{info.name()}' describes {k} channel(s) in desc/channels but sends {n}: {took}, and the labels (and "
        "units) may belong to other channels than they name; fix the channel list in the sending app"
    )


def unitless_said(stream: str, names: list[str], peak: float, unit: str = "") -> str:
    """What to say of voltage channels (EEG, ...) `names` the stream gives no unit for (or `unit`, no voltage), with
    values up to `peak`."""
    shown = ", ".join(names[:8]) + (" ..." if len(names) > 8 else "")
    if unit:  # (ADC counts)
        return (
            f"stream '{stream}' gives its channel(s) {shown} the unit '{unit}', which is no voltage (uV, mV, V, ...), "
            f"and sends values up to {peak:.4g}: not scaled, so taken as volts (MNE's unit) that is {peak:.4g} V by "
            "the recorders and decoders; set the channels' voltage unit in the sending app's desc/channels (e.g. "
            "microvolts), or scale them to volts before recording"
        )
    return (
        f"stream '{stream}' gives no unit for its channel(s) {shown} and sends values up to {peak:.4g}: taken as volts "
        f"(MNE's unit) that is {peak:.4g} V, so they are microvolts (as OpenBCI GUI sends them) or ADC counts?; give "
        "`units: uV` (or their unit) to have them scaled to volts, or set the unit in the sending app's desc/channels"
    )


_AUDIO_FULL_SCALE = {6: 128, 5: 32768, 4: 2**31}  # int8, int16, int32 (LSL's cf_ numbers): the +-1 of audio


def int_audio_said(info) -> str | None:
    """What to say of an audio stream sent in an integer format (LSL's AudioCapture app: int16), whose samples the inlet
    passes on as they are, where the graph's audio is +-1; None for another stream."""
    full = _AUDIO_FULL_SCALE.get(info.channel_format())
    if full is None:
        return None
    return (
        f"stream '{info.name()}' sends audio as {_FORMAT_NAMES[info.channel_format()]} samples (-{full}..{full - 1}): "
        "they go on as they are, where the graph's audio is +-1 (what a WAV file's samples are read as, and what the "
        f"enhancer and audio_output take); scale them: a gain node with db: {-20 * np.log10(full):.2f} (1/{full}) "
        "after the inlet"
    )


def rate_off_said(stream: str, true_rate: float, rate: float) -> str:
    """What to say of a stream whose timestamps give `true_rate` Hz, far from its nominal `rate`."""
    return (
        f"stream '{stream}' sends about {true_rate:.3g} Hz by its timestamps, but its nominal rate is {rate:g} Hz, "
        "which the graph takes the samples at; fix the rate in the sending app"
    )


def unique_names(names: list[str]) -> tuple[str, ...]:
    """Every label that repeats becomes LABEL-0, LABEL-1, ... (MNE's rule), skipping names already
    taken; the others keep theirs."""
    taken, out, counts, next_k = set(names), [], Counter(names), {}  # (names.count per name was quadratic)
    for name in names:
        if counts[name] > 1:
            k = next_k.get(name, 0)
            while f"{name}-{k}" in taken:
                k += 1
            taken.add(f"{name}-{k}")
            next_k[name] = k + 1
            name = f"{name}-{k}"
        out.append(name)
    return tuple(out)


def event_table(info) -> dict[str, int]:
    """The desc/events/event {code, label} table written by lsl_outlet: label -> code."""
    table = {}
    ev = info.desc().child("events").child("event")
    while not ev.empty():
        try:
            table[ev.child_value("label")] = int(ev.child_value("code"))
        except ValueError:
            pass
        ev = ev.next_sibling("event")
    return table


__all__ = [
    "RestartWatch",
    "check_declared",
    "check_declared_markers",
    "channel_info",
    "import_pylsl",
    "int_audio_said",
    "off_clock",
    "onehot_markers",
    "resolve",
    "describe_streams",
    "desc_count_said",
    "rate_off_said",
    "backlog_said",
    "gap_said",
    "jump_said",
    "near_misses",
    "unordered_said",
    "nonfinite_said",
    "stall_said",
    "event_table",
    "stream_lines",
    "unique_names",
    "unitless_said",
    "unrecoverable_said",
    "warn_unknown",
    "which_one",
]
