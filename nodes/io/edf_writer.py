"""The recorder's EDF+C / BDF+C writer (see record_formats): one-second records (a rate that is not whole: records of
the duration that holds a whole number of its samples, record_layout; shorter where edflib's size allows no
more, fit_record), written record by record after a first
pass over the spill for each channel's range; markers and gaps become EDF+ annotations; 16 (EDF) or 24 (BDF) bits,
so the file equals the input within half a quantisation step."""

from __future__ import annotations

import math
import unicodedata
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from wavegraph.pipeline.spec import StreamSpec, same_rate

if TYPE_CHECKING:
    from .record_formats import SpillRows


def ascii_dashes(text: str) -> str:
    """Dashes as '-': 'Fp1–ref' (an en dash, as a word processor turns '-' into) was stored 'Fp1?ref' in an EDF or FIF,
    a name no montage holds ('Fp1-ref' is what was meant)."""
    return "".join("-" if unicodedata.category(c) == "Pd" or c == "\u2212" else c for c in text)


def edf_field(text: str, width: int) -> bytes:
    """`text` as an EDF header field: US-ASCII, as EDF says (Latin-1's 'Fp1ü' made edflib, pyedflib's and
    EDFbrowser's reader, refuse the whole file), a letter without its accent (u), '?' for a character with no ASCII
    letter; cut or padded with spaces to `width` bytes; control characters (a tab or line break in a channel name,
    which EDF's header holds no more than the BIDS channels.tsv copied from it) as spaces."""
    text = "".join(" " if c < " " or c == "\x7f" else c for c in text)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = ascii_dashes(text)
    return text.encode("ascii", "replace")[:width].ljust(width)


def _bound(x: float, up: bool) -> str:
    """The shortest decimal text of at most 8 characters that is >= x (up) or <= x."""
    for k in range(8, 0, -1):
        for shift in (0, 1):
            v = x + (1 if up else -1) * shift * abs(x or 1.0) * 10.0 ** (1 - k)
            s = f"{v:.{k}g}"
            if len(s) <= 8 and ((float(s) >= x) if up else (float(s) <= x)):
                return s
    raise ValueError(f"cannot write {x!r} in 8 characters")


_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def _edf_dates(start: datetime | None) -> tuple[str, str, str, float]:
    """(recording-id date, header date, header time, fraction of a second): EDF+ holds the second in
    which the first record starts in the header, and the fraction in the first record's time-keeping
    annotation (+0.X); the recording id carries the four-digit year. Unknown: 01.01.85, as EDF+ says."""
    if start is None:
        return "X", "01.01.85", "00.00.00", 0.0
    start = start.astimezone(UTC)
    whole = start.replace(microsecond=0)
    # EDF's two-digit years; 'yy' after 2084, as EDF+ says. Before 1985 (which EDF+ leaves unsaid) the digits too: the
    # 'yy' written there made edflib (pyedflib, EDFbrowser) refuse the file; EDF+ readers take Startdate's year
    yy = f"{start.year % 100:02d}" if start.year <= 2084 else "yy"
    return (
        f"{start.day:02d}-{_MONTHS[start.month - 1]}-{start.year}",
        f"{start.day:02d}.{start.month:02d}.{yy}",
        whole.strftime("%H.%M.%S"),
        start.microsecond / 1e6,
    )


def _prefiltering(spec: StreamSpec) -> str:
    """Each signal's Prefiltering field, "HP:1Hz LP:40Hz" as MNE's export writes it, from the graph's filters (which
    MNE reads back as info['highpass'] / ['lowpass'], and mne-bids writes to channels.tsv); "" when none is known."""
    highpass, lowpass = spec.passband()
    if not highpass and lowpass >= spec.rate / 2:
        return ""
    return f"HP:{np.format_float_positional(highpass, trim='-')}Hz LP:{np.format_float_positional(lowpass, trim='-')}Hz"


def whole_rate(rate: float) -> int:
    """The whole number of Hz a rate is, also when float rounding moved it (1 / median(diff(t)) = 249.99999999999977
    is 250); 0 for a rate that is not whole."""
    whole = round(rate) if math.isfinite(rate) else 0
    return whole if whole > 0 and same_rate(rate, whole) else 0


MAX_RECORD_S = 60  # the longest record taken for a rate that is not whole (the file is padded to whole records)


def record_layout(rate: float) -> tuple[int, Fraction]:
    """(samples per record, the record's duration in s) that hold `rate` exactly: EDF's rate is the samples of a record
    (8 digits) over its duration (8 characters), so 512.5 Hz is 1025 samples in 2 s, 250.4 Hz 1252 in 5 s (MNE's
    export writes floor(rate) samples in a rounded duration: close, not exact). A whole rate: one-second records;
    else the duration of fewest decimals, nearest to 1 s. (0, 0) when no record of up to MAX_RECORD_S holds it
    (160.0001 Hz needs 10000 s)."""
    if whole := whole_rate(rate):
        return whole, Fraction(1)
    if not (math.isfinite(rate) and rate > 0):
        return 0, Fraction(0)
    exact = Fraction(repr(float(rate)))  # the decimal the rate was given as (512.5), or within rounding of a simple one
    near = exact.limit_denominator(10**6)
    exact = near if same_rate(float(near), rate) else exact
    p, q, tens = exact.numerator, exact.denominator, 1
    for f in (
        2,
        5,
    ):  # a duration with a finite decimal text: samples x q / p, p's factors other than 2 and 5 in samples
        while p % (tens * f) == 0:
            tens *= f
    step = Fraction(q, tens)  # the shortest such duration, of p // tens samples
    for digits in range(8):  # the multiples of step with `digits` decimals: of lcm(step, 10**-digits)
        unit = Fraction(math.lcm(step.numerator, 1), math.gcd(step.denominator, 10**digits))
        if unit <= MAX_RECORD_S:
            duration = unit * max(1, round(1 / unit))
            spr = duration * exact
            if spr.denominator == 1 and spr <= 99999999 and len(decimal_text(duration)) <= 8:
                return int(spr), duration
            break
    return 0, Fraction(0)


RECORD_BYTES = {"edf": 10 << 20, "bdf": 15 << 20}  # edflib's largest record (pyedflib's and EDFbrowser's reader)


def fit_record(spr: int, duration: Fraction, row_bytes: int, limit: int) -> tuple[int, Fraction]:
    """(samples, duration) of a record cut into the fewest equal parts of `row_bytes` a sample that fit in `limit`
    bytes (less 64 KiB for the annotations), of a duration EDF's 8 characters hold exactly: edflib refused a whole file
    whose records were larger (a BDF of 128 channels at 44100 Hz in one-second records, 16.9 MB: 'not EDF(+) or BDF(+)
    compliant (Sample in Datarecord)'), which MNE reads. As it was where no part fits."""
    room = limit - (64 << 10)
    if spr * row_bytes <= room:
        return spr, duration
    for k in sorted({d for i in range(2, math.isqrt(spr) + 1) if spr % i == 0 for d in (i, spr // i)} | {spr}):
        part, den = duration / k, (duration / k).denominator
        while den % 2 == 0 or den % 5 == 0:
            den //= 2 if den % 2 == 0 else 5
        if (spr // k) * row_bytes <= room and den == 1 and len(decimal_text(part)) <= 8:
            return spr // k, part
    return spr, duration


def decimal_text(x: Fraction) -> str:
    """The exact decimal text of x (whose denominator has no factors but 2 and 5): 0.4, 1.25, 2."""
    digits = 0
    while (x * 10**digits).denominator != 1:
        digits += 1
    scaled = str(int(x * 10**digits)).rjust(digits + 1, "0")  # (Fraction has no format() before Python 3.12)
    return f"{scaled[:-digits]}.{scaled[-digits:]}" if digits else scaled


def spec_volt_factors(spec: StreamSpec, n_ch: int) -> np.ndarray:
    """Per channel, the factor that takes the stream's values to volts, which FIF holds and EDF/BDF's uV are counted
    from: the stream's units' (uV, mV, nV: an array_source given units 'uV') on a voltage channel (EEG, EOG, ...), else
    1. (Written as they were, 10 uV read back as 10 V.)"""
    from .units import VOLTAGE_TYPES, volt_scale  # (imported when a file is written: a graph imports what it uses)

    bare = spec.units.strip().lstrip("+-").isdigit()  # (a bare number is no unit here: '1', dimensionless)
    factor = volt_scale(spec.units) if spec.units and not bare else None
    types = list(spec.channel_types) or ["misc"] * n_ch
    return np.array([factor if factor is not None and t in VOLTAGE_TYPES else 1.0 for t in types])


def names_of(spec: StreamSpec, n_ch: int) -> list[str]:
    return list(spec.channel_names) or [f"ch{i}" for i in range(n_ch)]


TAL_NAMES = ("EDF Annotations", "BDF Annotations")  # MNE's EDF and BDF readers take a channel of either for the notes


def edf_names(names: list[str]) -> list[str]:
    """The channel names as an EDF/BDF header holds them: 16 ASCII characters (edf_field), read back stripped. A
    data channel named as the annotations channel, 'EDF Annotations' or 'BDF Annotations' (also once cut to 16), was
    taken by MNE for the file's annotations, and the file could not be read ('invalid byte in at least one annotations
    channel'): it is stored as 'EDF Annotation' ('BDF Annotation'), numbered when that is taken (the recorder warns)."""
    out = [edf_field(n, 16).decode("latin-1").strip() for n in names]
    taken = set(out)
    for i, name in enumerate(out):
        if name in TAL_NAMES:
            new, k = name[:-1], 0
            while new in taken:
                k += 1
                new = f"{name[: 15 - len(str(k))]}-{k}"
            out[i] = new
            taken.add(new)
    return _numbered(out)


def _numbered(names: list[str]) -> list[str]:
    """Names that storing made the same ('EEG Fp1-Reference-A' and '-B' both 'EEG Fp1-Referenc', 'Fp1–ref' beside
    'Fp1-ref') numbered within 16 characters as FIF's are (record_formats.fif_names, as MNE numbers them): the file held
    two channels of one name, which MNE read as 'EEG Fp1-Referenc-0' and '-1' (not the names the recorder said it
    wrote) and EDFbrowser showed alike."""
    from collections import Counter

    dup, taken, out = {n for n, c in Counter(names).items() if c > 1}, set(names), list(names)
    for i, name in enumerate(names):
        k = 0
        while name in dup and out[i] in taken:
            out[i] = f"{name[: 16 - len(f'-{k}')].rstrip()}-{k}"
            k += 1
        taken.add(out[i])
    return out


def notes_named(names) -> str:
    """Why edf_names renamed a channel named as the annotations channel (the recorder's warning); "" when none is."""
    if not {edf_field(n, 16).decode("latin-1").strip() for n in names} & set(TAL_NAMES):
        return ""
    return (
        " (EDF/BDF readers, MNE's among them, take a channel named 'EDF Annotations' or 'BDF Annotations' for the "
        "file's annotations: a data channel of that name would make the file unreadable)"
    )


def _say_coarse(target: Path, names: list[str], span, gain, lo, bdf: bool) -> None:
    """Channels whose values sit so far from 0 for their spread (Unix times, a large offset) that the 8-character
    physical range fields (1.7e+09 .. 1.72e+09) leave fewer than 1000 steps across the data: said, with what is
    kept (it read back as one value, 1.7e9 + 0..2 s, without a word)."""
    levels = np.divide(span, gain, out=np.full(len(span), np.inf), where=span > 0)
    coarse = np.flatnonzero(levels < 1000)
    if len(coarse):
        import logging

        logging.getLogger("wavegraph.recorder").warning(
            "recorder: %s cannot hold %s finely: its header's 8-character range fields leave %s, and each sample "
            "reads back within half a step; remove the offset first (e.g. subtract the first value) or record to "
            "_raw.fif or .npz%s",
            target.name.removesuffix(".tmp"),
            ", ".join(names[c] for c in coarse[:5]) + (f" and {len(coarse) - 5} more" if len(coarse) > 5 else ""),
            ", ".join(f"{names[c]} ({span[c]:.3g} wide at {lo[c]:.4g}) steps of {gain[c]:.3g}" for c in coarse[:3]),
            "" if bdf else " (or .bdf: 256 times finer steps)",
        )


def _say_status(target: Path, names: list[str], lo, hi) -> None:
    """A BDF channel named Status is BioSemi's trigger channel to its readers, which take its low 16 bits (file_source,
    as MNE advises for BioSemi: the ActiveTwo keeps system flags above them): values beyond 0..65535 read back
    otherwise, 70000 as 4464, without a word. Said, with the fix."""
    import logging

    stored = [edf_field(n, 16).decode("latin-1").strip().lower() for n in names]  # 'Status ' is stored 'Status'
    for c in (c for c, n in enumerate(stored) if n == "status" and (lo[c] < 0 or hi[c] > 0xFFFF)):
        logging.getLogger("wavegraph.recorder").warning(
            "recorder: %s: a BDF channel named %r is read as BioSemi's trigger channel, its low 16 bits only "
            "(file_source; mne.find_events(..., mask=0xFFFF) as MNE advises): its values %.6g to %.6g read back "
            "otherwise (70000 as 4464); name it otherwise (e.g. Trigger) or record to .edf or _raw.fif",
            target.name.removesuffix(".tmp"),
            names[c],
            lo[c],
            hi[c],
        )


def write_edf(
    target: Path, rows: SpillRows, spec: StreamSpec, notes, bdf: bool = False, start: datetime | None = None
) -> None:
    """`start`: the first sample's time (UTC; Origin.start), written to the header (whole seconds, the
    fraction in the time-keeping annotations, as EDF+ says; MNE reads the whole second)."""
    rate = spec.rate
    spr, duration = record_layout(rate)
    if not spr:
        raise ValueError(f"EDF/BDF holds no record of {rate:.17g} Hz exactly (record_formats says so at configure)")
    n_ch, n = rows.shape[1], len(rows)
    from .units import VOLTAGE_TYPES  # volts in the stream, uV in the file

    width = 3 if bdf else 2
    spr, duration = fit_record(spr, duration, n_ch * width, RECORD_BYTES["bdf" if bdf else "edf"])
    dmin, dmax = (-(1 << 23), (1 << 23) - 1) if bdf else (-32768, 32767)
    types = list(spec.channel_types) or ["misc"] * n_ch
    scale = np.array([1e6 if t in VOLTAGE_TYPES else 1.0 for t in types]) * spec_volt_factors(spec, n_ch)
    lo, hi, whole = np.full(n_ch, np.inf), np.full(n_ch, -np.inf), np.ones(n_ch, dtype=bool)
    nan = np.zeros(n_ch, dtype=bool)
    for _, block in rows.blocks():
        if len(block):  # the range of the finite samples (a NaN or inf would wreck the channel's scale)
            finite = np.isfinite(block)
            nan |= np.isnan(block).any(0)
            lo = np.minimum(lo, np.where(finite, block, np.inf).min(0) * scale)
            hi = np.maximum(hi, np.where(finite, block, -np.inf).max(0) * scale)
            values = np.where(finite, block * scale, 0.0)
            whole &= (values == np.round(values)).all(0)
    lo, hi = np.where(np.isfinite(lo), lo, -1.0), np.where(np.isfinite(hi), hi, 1.0)
    lo, hi = np.where(nan, np.minimum(lo, 0.0), lo), np.where(nan, np.maximum(hi, 0.0), hi)  # NaN is written as 0: a
    # range that holds it (a channel of 36..37 degC read a NaN back as 36, a value like the others, not the 0 said)
    span = hi - lo  # the data's (0: a constant channel)
    if bdf:
        _say_status(target, names_of(spec, n_ch), lo, hi)
    same = hi <= lo  # a constant channel: a range around its value, as wide as the value (1 at 0), so that it reads
    # back within half a step of 2 |value| / 65535 (a range of +-1 read 2e-6 back as 1.1e-5)
    half = np.where(lo == 0, 1.0, np.abs(lo))
    lo, hi = np.where(same, lo - half, lo), np.where(same, hi + half, hi)
    pmin = [_bound(v, up=False) for v in lo]
    pmax = [_bound(v, up=True) for v in hi]
    for c in np.flatnonzero(whole & (hi - lo <= dmax - dmin)):  # integers (a trigger channel): a gain of exactly 1,
        # so they read back exact (a BDF trigger 5 read as 4.9999: code 4), and no offset where they fit (else the least):
        # MNE reads a BDF stim channel's digital values (with the range starting at a minimum of 2, codes 2, 5 read 0, 3)
        shift = int(np.clip(0, hi[c] - dmax, lo[c] - dmin))
        if len(low := str(dmin + shift)) <= 8 and len(top := str(dmax + shift)) <= 8:
            pmin[c], pmax[c] = low, top
            span[c] = 0.0  # exact: no resolution to speak of
    pmin_f, pmax_f = np.array([float(s) for s in pmin]), np.array([float(s) for s in pmax])
    gain = (pmax_f - pmin_f) / (dmax - dmin)
    _say_coarse(target, names_of(spec, n_ch), span, gain, lo, bdf)
    codes = [names_of(spec, n_ch)[c] for c in np.flatnonzero(whole & (span > 0))]
    if (
        codes
    ):  # whole numbers (trigger codes) a gain of 1 cannot hold: read back off by up to half a step (7 as 7.63: 8)
        import logging

        logging.getLogger("wavegraph.recorder").warning(
            "recorder: %s holds the whole numbers of %s (trigger codes?) over more than its %d steps: they read back "
            "within half a step, not exact (a code 7 as 7.63, rounded 8); record to %s or _raw.fif to keep them exact",
            target.name.removesuffix(".tmp"),
            ", ".join(codes),
            dmax - dmin + 1,
            ".bdf (2**24 steps)" if not bdf else ".npz",
        )

    n_rec = max(1, math.ceil(n / spr))
    onsets, durations, labels = (list(x) for x in notes)
    if n_rec * spr > n:  # (also the whole record of a stream that ended without a sample: it read as 1 s of data)
        onsets.append(n / rate)
        durations.append((n_rec * spr - n) / rate)
        labels.append("padding")
    rec_date, date, clock, frac = _edf_dates(start)
    tals = [[] for _ in range(n_rec)]
    for onset, dur, label in sorted(zip(onsets, durations, labels, strict=True)):
        text = f"{onset + frac:+.6f}" + (f"\x15{dur:.6f}" if dur else "") + "\x14"  # from the header's second
        text += "".join(" " if c < " " else c for c in str(label)) + "\x14\x00"  # \n, \x14: MNE dropped the marker
        tals[min(int(onset / duration), n_rec - 1)].append(text)
    if duration == 1:  # each record's start
        keep = [f"{r:+d}" if not frac else f"{r + frac:+.6f}" for r in range(n_rec)]
    else:  # (to the digit: records of 1.25 s start at +1.25, +2.5, ...)
        keep = [
            f"+{decimal_text(r * duration)}" if not frac else f"{float(r * duration) + frac:+.6f}" for r in range(n_rec)
        ]
    rec_tals = [(f"{keep[r]}\x14\x14\x00" + "".join(t)).encode("utf-8") for r, t in enumerate(tals)]
    ann_samples = max(math.ceil(max(len(t) for t in rec_tals) / width), 30)

    names = edf_names(names_of(spec, n_ch))  # (as the recorder said it renames them: stored_names)
    units = ["uV" if t in VOLTAGE_TYPES else "" for t in types]
    ns = n_ch + 1
    header = (b"\xffBIOSEMI" if bdf else b"0".ljust(8)) + edf_field("X X X X", 80)
    header += edf_field(f"Startdate {rec_date} X X X", 80)
    header += edf_field(date, 8) + edf_field(clock, 8) + edf_field(str(256 * (ns + 1)), 8)
    header += (
        edf_field("BDF+C" if bdf else "EDF+C", 44)
        + edf_field(str(n_rec), 8)
        + edf_field(decimal_text(duration), 8)
        + edf_field(str(ns), 4)
    )
    cols = [
        ([edf_field(nm, 16) for nm in names] + [edf_field("EDF Annotations" if not bdf else "BDF Annotations", 16)]),
        [edf_field("", 80)] * ns,
        [edf_field(u, 8) for u in units] + [edf_field("", 8)],
        [edf_field(s, 8) for s in pmin] + [edf_field("-1", 8)],
        [edf_field(s, 8) for s in pmax] + [edf_field("1", 8)],
        [edf_field(str(dmin), 8)] * ns,
        [edf_field(str(dmax), 8)] * ns,
        [edf_field(_prefiltering(spec), 80)] * n_ch + [edf_field("", 80)],
        [edf_field(str(spr), 8)] * n_ch + [edf_field(str(ann_samples), 8)],
        [edf_field("", 32)] * ns,
    ]
    for col in cols:
        header += b"".join(col)
    with open(target, "wb") as f:
        f.write(header)
        for r in range(n_rec):
            block = np.zeros((spr, n_ch))
            part = np.asarray(rows[r * spr : (r + 1) * spr], dtype=np.float64)
            block[: len(part)] = np.where(np.isnan(part), 0.0, part)  # EDF has no NaN: 0; inf: the range's ends
            digital = np.clip(np.round((block * scale - pmin_f) / gain + dmin), dmin, dmax).astype(np.int32)
            if bdf:
                b = np.ascontiguousarray(digital.T, dtype="<i4").view(np.uint8).reshape(n_ch, spr, 4)[:, :, :3]
                f.write(b.tobytes())
            else:
                f.write(digital.T.astype("<i2").tobytes())
            f.write(rec_tals[r].ljust(ann_samples * width, b"\x00"))
