"""The parameters of ssvep_decoder and ssvep_trial_decoder (nodes/models/ssvep.py), and their checks."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, model_validator
from wavegraph.pipeline.node import NodeParams

from ..nanpolicy import NAN_POLICY_HELP, NanPolicy
from .common import CheckpointPath, Device, Threads


class SSVEPDecoderParams(NodeParams):
    method: Literal["fbcca", "dnn"] = Field("fbcca", description="fbcca (no training) or dnn (needs checkpoint)")
    freqs: list[float] | None = Field(
        None, description="stimulus frequencies, Hz (fbcca: required; dnn: from the checkpoint)"
    )
    window: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="window length, s (fbcca: default 1.0; dnn: from the checkpoint)"
    )
    step: float | None = Field(
        None,
        gt=0,
        allow_inf_nan=False,
        description="seconds between window starts (default: 0.25 or the window, if shorter)",
    )
    channels: list[str] | None = Field(
        None,
        description="channels to use, by name (default: the data channels (EEG, ...; no EOG, ECG, EMG, misc, trigger), "
        "as MNE's picks='data', or every channel but a trigger in a stream of none; dnn: the checkpoint's)",
    )
    harmonics: int = Field(5, ge=1, description="fbcca: sin/cos reference harmonics (those below Nyquist)")
    n_bands: int = Field(5, ge=1, description="fbcca: sub-bands [8n-2, 90] Hz, n = 1..n_bands")
    checkpoint: CheckpointPath = Field(None, description="dnn: weights from `wavegraph train ssvep` (config beside)")
    device: Device = Field("cpu", description="dnn: torch device")
    threads: Threads = 1
    nan_policy: NanPolicy = Field("zero", description=NAN_POLICY_HELP)

    @model_validator(mode="after")
    def _check(self):
        if self.method == "fbcca" and not self.freqs:
            raise ValueError("method fbcca needs `freqs` (the stimulus frequencies, Hz)")
        if bad := [f for f in self.freqs or [] if not 0 < f < math.inf]:  # 0 Hz scored as a constant; NaN too
            raise ValueError(f"`freqs` must be stimulus frequencies > 0 Hz, got {', '.join(map(str, bad))}")
        for name in ("freqs", "channels"):  # a repeated target would split its votes; a repeated channel weigh twice
            values = getattr(self, name) or []
            if twice := sorted({v for v in values if values.count(v) > 1}, key=str):
                raise ValueError(f"`{name}` lists {', '.join(map(str, twice))} more than once; list each once")
        if self.method == "dnn" and not self.checkpoint:
            raise ValueError("method dnn needs `checkpoint` (train one with `wavegraph train ssvep`)")
        if self.method == "fbcca" and self.checkpoint:
            raise ValueError("`checkpoint` is only for method dnn")
        if self.method == "fbcca" and "threads" in self.model_fields_set:
            raise ValueError("`threads` (torch threads) is only for method dnn (FBCCA runs in numpy); drop it")
        return self


class SSVEPTrialDecoderParams(SSVEPDecoderParams):
    step: None = Field(None, description="(not used: one decision per marker)")
    delay: float = Field(
        0.14, ge=0, allow_inf_nan=False, description="window start after the marker, s (visual latency)"
    )
    pre: float = Field(
        1.0,
        ge=0,
        allow_inf_nan=False,
        description="filter pre-roll before the marker, s (the filters start from zero there)",
    )
    codes: list[int] | None = Field(
        None, description="marker codes that start a trial (default: every marker but BAD_/EDGE segments)"
    )
    max_delay: float = Field(10.0, ge=0, allow_inf_nan=False, description="how late (s of signal) a marker may arrive")
    reject_by_annotation: bool = Field(
        True, description="no decision on a trial a BAD_... marker segment overlaps, as mne.Epochs (bad_segment)"
    )
