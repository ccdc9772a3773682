"""`wavegraph bench bci`: SSVEP decoders on real EEG -- a table, a PNG and `--json PATH` with every figure.

Parts:

1. **Real SSVEP** (ssvepy's example recording, real SSVEP at 6 Hz, 64 ch, 256 Hz, 16 epochs x 16 s): the
   streaming ``ssvep_decoder`` (FBCCA) runs over each epoch as a stream (causal 50 Hz notch first) and
   decides in sliding windows; accuracy vs window length. ``--data FILE`` runs the same part on any
   MNE-readable recording with markers (annotations/events whose description is the frequency in Hz).
2. **Semi-synthetic** (benchmarks/ssvep_sim.py): real EEG backgrounds (EEGMMIDB S001R02, 64 ch, 160 Hz;
   separate segments for training, calibration and evaluation) plus simulated SSVEP responses (M
   frequencies with JFPM phases, harmonics, per-subject occipital topography and visual latency) at
   swept SNRs; accuracy and ITR vs window length (0.2-2 s) for FBCCA, the Deep-SSVEP DNN and the token
   decoder side by side.

Token decoder interface (implemented by the eeg-tokenizer work; the bench runs it beside FBCCA and the
DNN; ``--token-decoder module:Class`` overrides the default ``wavegraph.models.token_decoder:TokenDecoder``)::

    dec = TokenDecoder(rate=160.0, channel_names=[...], freqs=[...], seed=0)
    dec.fit(X, y)            # X: float64 (n_trials, n_channels, n_samples), raw EEG in volts, no filter
                             #    bank (the decoder does its own preprocessing, e.g. resampling to 200 Hz);
                             # y: int64 (n_trials,), index into freqs. Returns self.
    dec.fine_tune(X, y)      # optional: per-subject calibration trials (same format), after fit
    y_hat = dec.predict(X)   # -> int (n_trials,)

The bench builds one fresh instance per window length; `fit` gets the global training trials (all SNRs
mixed, from the training segment), `fine_tune` (when defined) each test subject's calibration trials,
and `predict` that subject's evaluation trials. Trials all have the same length within one call
(window length x rate: 32 to 320 samples at 160 Hz). A decoder that cannot handle a window length may
raise ValueError from fit/predict: that cell is reported as n/a.
"""
from __future__ import annotations
