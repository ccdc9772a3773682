"""lsl_inlet's parameters (the node is in lsl.py)."""

from __future__ import annotations

from pydantic import Field, model_validator
from wavegraph.pipeline.node import NodeParams
from wavegraph.pipeline.spec import SpecError

MAX_CHANNELS = 65536  # as sine and noise: a count past it is a typo, not an amplifier
# liblsl's inlet buffer holds buffer_s x rate samples (x 100 a second for an irregular stream) and reserves a slot for
# each when it connects: 2**26 of them are about 1 GiB (MAX_STATE_BYTES of a node's window)
MAX_BUFFER_SAMPLES = 1 << 26


class LslInletParams(NodeParams):
    name: str | None = Field(None, description="stream name to consume")
    type: str | None = Field(None, description="stream type to consume (e.g. EEG, Markers)")
    source_id: str | None = Field(
        None, description="the stream's source_id: tells apart two streams of one name and type (two amplifiers)"
    )
    resolve_timeout: float = Field(5.0, gt=0, description="seconds to look for the stream at configure")
    chunk_size: int = Field(32, ge=1, description="most samples per output chunk")
    clock_sync: bool = Field(True, description="map timestamps onto this machine's LSL clock")
    dejitter: bool = Field(False, description="liblsl's smoothing of regular-rate timestamps (smooths over gaps too)")
    smoothing_halftime: float = Field(
        30.0, gt=0, allow_inf_nan=False, description="s: half-life of the timestamp fit that gives chunk times"
    )
    duration: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="end after this many seconds of stream time"
    )
    max_samples: int | None = Field(None, ge=1, description="end after this many samples")
    idle_timeout: float | None = Field(None, gt=0, description="end when nothing arrived for this long (s)")
    gap_tolerance: float = Field(0.05, ge=0, description="timestamp jump (s) beyond one period that flags a gap")
    marker_codes: dict[str, int] = Field(default_factory=dict, description="marker string -> event code")
    buffer_s: int = Field(30, ge=1, description="liblsl inlet buffer, seconds (older data is dropped)")
    recover: bool = Field(
        False,
        description="when the outlet goes away, wait for it (same source id) to come back instead of "
        "ending the stream; the samples after it are flagged as a gap (end it with idle_timeout)",
    )
    ends_with_others: bool = Field(
        False,
        description="end this stream when every other source of its process has ended (a marker inlet "
        "beside the EEG: the run ends with the amplifier's stream, not with the stimulus program)",
    )
    marker_duration: float = Field(
        0.0,
        ge=0,
        allow_inf_nan=False,
        description="duration (s) given to every marker, e.g. the trial "
        "length of a calibration run (LSL markers have none)",
    )
    wait: float = Field(
        0.1,
        ge=0,
        le=1.0,
        description="seconds a read waits for data (0: just poll; use 0 for "
        "a marker inlet that shares a process with an EEG inlet)",
    )
    channels: int | list[str] | None = Field(
        None,
        description="expected channel count or labels: checked when the "
        "stream opens; with `rate`, `validate` needs no stream",
    )
    rate: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="expected nominal rate (Hz), checked when the stream opens"
    )
    units: str | None = Field(
        None,
        description="unit of the channels the stream gives none for (`uV` for OpenBCI GUI's EEG stream, "
        "microvolts without a desc): a voltage is scaled to volts, as a unit in desc/channels is",
    )

    @model_validator(mode="after")
    def _need_query(self):
        if not self.name and not self.type and not self.source_id:
            raise ValueError("lsl_inlet needs `name` or `type` (or `source_id`) to find its stream")
        if "'" in (self.name or "") + (self.type or "") + (self.source_id or ""):
            raise ValueError("lsl_inlet `name`, `type` and `source_id` cannot contain a single quote")
        if self.channels is not None and not (self.channels if isinstance(self.channels, list) else self.channels > 0):
            raise ValueError(f"lsl_inlet `channels: {self.channels}` declares no channel; give a count or the labels")
        if isinstance(self.channels, int) and self.channels > MAX_CHANNELS:  # (1e8: 7 GB of names, then MemoryError)
            raise ValueError(f"lsl_inlet `channels: {self.channels}`: at most {MAX_CHANNELS}; e.g. channels: 64")
        if any(abs(c) > 2**53 for c in self.marker_codes.values()):  # (read as unknown markers, dropped)
            raise ValueError(
                "lsl_inlet `marker_codes` beyond +-2**53 do not fit a float64 event row; give smaller codes"
            )
        return self


def check_buffer(buffer_s: int, rate: float, stream: str) -> None:
    """SpecError when liblsl's buffer of `buffer_s` s of a stream at `rate` (0: irregular) is beyond MAX_BUFFER_SAMPLES.
    `buffer_s: 10000000` at 1000 Hz (1e10 samples): liblsl failed to reserve it in its receiver thread and the inlet
    received nothing, unsaid ('Stream transmission broke off' on stderr; an idle_timeout called it 'nothing arrived')."""
    per_s = rate if rate > 0 else 100.0  # (liblsl counts an irregular stream's buffer as 100 samples a second)
    if buffer_s * per_s > MAX_BUFFER_SAMPLES:
        at = f"at {rate:g} Hz" if rate > 0 else "irregular: 100 samples a second, as liblsl counts it"
        raise SpecError(
            f"lsl_inlet: buffer_s {buffer_s} s of stream '{stream}' ({at}) is a liblsl buffer of "
            f"{buffer_s * per_s:.3g} samples, reserved up front: at most {MAX_BUFFER_SAMPLES} (about 1 GiB) here (one "
            "liblsl cannot reserve leaves the inlet receiving nothing)",
            f"set buffer_s to at most {int(MAX_BUFFER_SAMPLES // per_s)} s (the default, 30, is the backlog liblsl "
            "keeps while the graph lags)",
        )


__all__ = ["LslInletParams", "check_buffer"]
