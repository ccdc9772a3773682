"""Running z-score over a causal sliding window.

``y[c, t] = (x[c, t] - mean) / std`` where mean and std (ddof 0) are taken over the last `window` seconds
of channel c *including* sample t (fewer samples at the start of the stream: an expanding window);
``y = 0`` where std <= eps, or where std is at most FLAT_RTOL of the window's level: a flat window, whose std is the
rounding of its values (eps was 1e-12 by default, in the signal's units: a magnetometer's 2e-13 T of MEG, which MNE
gives in T, came out 0 throughout). Latency 0. A channel typed stim (a trigger) passes unchanged, its
codes kept, as MNE's raw.filter leaves one (nodes/channel_kinds.py): its z-score is no event code.

The window sums come from blocks of `window` samples anchored at the stream's first sample: a window
ending in block k is a suffix of block k-1 (summed once, when that block completes) plus a prefix of
block k (a running sum carried across chunks), both offset by the median of block k-1 per channel
(the stream's first sample for block 0; kept in the state) to limit cancellation. Every sum is formed in the same order whatever the chunking,
so streaming equals offline exactly, and a sample enters only the sums of the windows that hold it: a
huge spike spoils those windows and no later one (a running cumulative sum over the whole chunk had
kept its rounding for ever: a whole recording with one 1e150 sample gave zeros from there on, while
small chunks recovered). Accuracy degrades if the signal drifts by more than ~1e3 standard deviations
within two windows (high-pass first); an offset that came before does not count (sums kept relative to the
stream's first sample for ever were off by up to 3.7 once the signal sat 1e8 from it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pydantic import Field
from wavegraph.pipeline.node import NodeParams
from wavegraph.pipeline.spec import SpecError
from wavegraph.pipeline.state import at_most, count, finite, may_overflow

from ..channel_kinds import trigger_channels
from ..nanpolicy import NAN_POLICY_HELP, NanPolicy, check_window_size
from ..signal import SignalNode

FLAT_RTOL = 1e-12  # a std at most this x the window's level is the sums' rounding (flat windows of 1e3 gave +-17)


class ZScoreParams(NodeParams):
    window: float = Field(..., gt=0, allow_inf_nan=False, description="window length in seconds")
    eps: float = Field(
        0.0, ge=0, description="std at or below this gives 0 (signal units; a flat window gives 0 anyway)"
    )
    nan_policy: NanPolicy = Field("zero", description=NAN_POLICY_HELP)


class RunningZScore(SignalNode[ZScoreParams]):
    """Causal running z-score per channel over the last `window` seconds."""

    Params = ZScoreParams

    @dataclass
    class State:
        # (signals, 1) the offset of the current block's sums: the median of the block before it (the stream's first
        # sample for block 0); (signals, 0) before the first sample
        ref: np.ndarray = field(metadata={**at_most(1), **finite()})
        block: np.ndarray = field(metadata=finite())  # (signals, < window) the current block's samples so far, - ref
        # (2, signals) sums of `block` and of its squares, so far: may hold inf or NaN in a state the node saved itself
        # (a finite 1e200 sample's square overflows; the windows after it recover), so not checked finite at load
        carry: np.ndarray = field(metadata=may_overflow())
        # (2, signals, window + 1) sums of the previous block's samples from each position (and squares); the last
        # column 0; all 0 before the first block completes (the expanding window)
        suffix: np.ndarray = field(metadata=may_overflow())
        n: int = count()  # samples received

    def setup(self, spec):
        self.W = int(round(self.params.window * spec.rate))
        if self.W < 2:
            raise SpecError(
                f"running_zscore window {self.params.window:g} s is under 2 samples at {spec.rate:g} Hz",
                f"use a window of at least {2 / spec.rate:g} s",
            )
        self._nch = int(np.prod(self.lead)) if self.lead else 1
        check_window_size("running_zscore window", self.W, self._nch, 24, spec.rate)  # block, suffix sums and squares
        self._room: np.ndarray | None = None  # (signals, window): where the current block's samples are written
        # a trigger's z-score has no meaning (its codes came out as -0.3, 7.1, ...: no event): passed as it is
        self._stim = trigger_channels(self, spec, "passes", "unchanged (their codes kept), as MNE's raw.filter does")
        return spec.evolve(dtype=self.dtype.name, units="a.u.")

    def new_state(self):
        c = self._nch
        return self.State(np.zeros((c, 0)), np.zeros((c, 0)), np.zeros((2, c)), np.zeros((2, c, self.W + 1)))

    def load_state_dict(self, state):
        """As Node's, and the block must fit the count: after n samples it holds n % window of them (and `ref` one
        column once a sample came). A longer block failed at the next chunk ('could not broadcast input array'); a
        count from another save than the block gave z-scores of the wrong window, unsaid."""
        before = self.state
        super().load_state_dict(state)
        s = self.state
        if s.block.shape[1] != s.n % self.W or s.ref.shape[1] != (s.n > 0):
            self.state = before
            raise ValueError(
                f"{self.node_id or 'running_zscore'} state 'block' holds {s.block.shape[1]} samples and 'ref' "
                f"{s.ref.shape[1]}, where 'n' {s.n} leaves {s.n % self.W} and {int(s.n > 0)} (window {self.W}): load the "
                "state as state_dict() saved it"
            )

    def transform(self, x):
        s = self.state
        n = x.shape[-1]
        x2 = x.reshape(self._nch, n).astype(np.float64, copy=False)
        if s.ref.shape[1] == 0:
            s.ref = x2[:, :1].copy()
        y = np.empty((self._nch, n))
        i = 0
        with np.errstate(over="ignore", invalid="ignore"):  # a square beyond float64: those windows give 0
            while i < n:  # one piece per block
                i = self._piece(x2, i, y)
        if self._stim.size:
            y[self._stim] = x2[self._stim]
        return y.astype(self.dtype, copy=False).reshape(*self.lead, n)

    def _append(self, block: np.ndarray, piece: np.ndarray) -> np.ndarray:
        """block + piece, written into an array of `window` samples kept for the block (`_room`), of which `block` is
        the start; a block not there (a fresh or loaded state) is copied there first. A concatenate of the whole block
        at every chunk copied up to `window` samples per chunk: 256 channels at 2048 Hz with a 30 s window ran at 0.7x
        real time mid-block."""
        room, m, k = self._room, block.shape[1], piece.shape[1]
        there = room is not None and block.base is room and block.strides == room.strides
        if room is None or not there or block.__array_interface__["data"][0] != room.__array_interface__["data"][0]:
            room = self._room = np.empty((self._nch, self.W))
            room[:, :m] = block
        room[:, m : m + k] = piece
        return room[:, : m + k]

    def _piece(self, x2: np.ndarray, i: int, y: np.ndarray) -> int:
        """Take x2[:, i:] up to the end of the current block into the state and y; return where it ended."""
        s, W = self.state, self.W
        m = s.block.shape[1]
        piece = x2[:, i : i + W - m] - s.ref
        k = piece.shape[1]
        # running sums within the block, continued from the carry in the same order as one whole chunk
        both = np.stack([piece, piece * piece])  # (2, signals, k)
        pre = np.cumsum(np.concatenate([s.carry[..., None], both], axis=2), axis=2)[..., 1:]
        sums = s.suffix[..., m + 1 : m + 1 + k] + pre  # + the previous block from the window start on
        t = s.n + np.arange(k)  # absolute index of each sample
        cnt = np.minimum(t + 1, W).astype(np.float64)
        mean = sums[0] / cnt
        std = np.sqrt(np.maximum(sums[1] / cnt - mean * mean, 0.0))
        ok = (std > self.params.eps) & (std > FLAT_RTOL * (np.abs(s.ref) + np.abs(mean)))  # (mean: relative to ref)
        y[:, i : i + k] = np.where(ok, (piece - mean) / np.where(ok, std, 1.0), 0.0)
        s.block = self._append(s.block, piece)
        s.carry = pre[..., -1].copy()
        s.n += k
        i += k
        if s.block.shape[1] == W:  # the block is complete: the next one starts from its suffix sums, both relative
            mid = np.median(s.block, axis=1, keepdims=True)  # to this block's median (the drift before it cancels;
            rel = s.block - mid  # the median, not its last sample: a spike there would offset the next block)
            s.ref = s.ref + mid
            full = np.stack([rel, rel * rel])
            s.suffix = np.concatenate(
                [np.cumsum(full[..., ::-1], axis=2)[..., ::-1], np.zeros((2, self._nch, 1))], axis=2
            )
            s.block, s.carry = s.block[:, :0], np.zeros((2, self._nch))
        return i
