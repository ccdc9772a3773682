"""The node library, grouped by family: io (files, recorder, LSL, audio), dsp (filters, resampling,
channels, windows, features), models (model nodes) and sim (synthetic sources).

BUILTIN_NODES is the catalogue of YAML type names. The runtime reads it through the `wavegraph.nodes`
entry point (see pyproject.toml), so listing the types or running a graph imports only the modules of
the nodes in use. Third-party packages add their own entry points to the same group.
"""

BUILTIN_NODES: dict[str, str] = {
    "align": "wavegraph.nodes.dsp.spectral:Align",
    "apply_mask": "wavegraph.nodes.dsp.spectral:ApplyMask",
    "audio_input": "wavegraph.nodes.io.audio:AudioInput",
    "audio_output": "wavegraph.nodes.io.audio:AudioOutput",
    "bandpass": "wavegraph.nodes.dsp.filters:Bandpass",
    "bandpower": "wavegraph.nodes.dsp.bandpower:Bandpower",
    "car": "wavegraph.nodes.dsp.channels:CAR",
    "chirp": "wavegraph.nodes.sim.synthetic:Chirp",
    "complex_to_real": "wavegraph.nodes.dsp.spectral:ComplexToReal",
    "conformer_encoder": "wavegraph.nodes.models.model:ConformerEncoderNode",
    "epochs": "wavegraph.nodes.dsp.epochs:Epochs",
    "eeg_sim": "wavegraph.nodes.sim.synthetic_eeg:EEGSim",
    "file_source": "wavegraph.nodes.io.file_source:FileSource",
    "filterbank": "wavegraph.nodes.dsp.filterbank:Filterbank",
    "gain": "wavegraph.nodes.dsp.spectral:Gain",
    "gla": "wavegraph.nodes.models.model:GLANode",
    "fir": "wavegraph.nodes.dsp.filters:FIR",
    "highpass": "wavegraph.nodes.dsp.filters:Highpass",
    "join": "wavegraph.nodes.dsp.join:Join",
    "istft": "wavegraph.nodes.dsp.windows:ISTFT",
    "lowpass": "wavegraph.nodes.dsp.filters:Lowpass",
    "lsl_inlet": "wavegraph.nodes.io.lsl:LslInlet",
    "lsl_outlet": "wavegraph.nodes.io.lsl:LslOutlet",
    "magnitude": "wavegraph.nodes.dsp.spectral:Magnitude",
    "mamba": "wavegraph.nodes.models.model:MambaNode",
    "model": "wavegraph.nodes.models.model:ModelNode",
    "noise": "wavegraph.nodes.sim.synthetic:Noise",
    "notch": "wavegraph.nodes.dsp.filters:Notch",
    "phase": "wavegraph.nodes.dsp.spectral:Phase",
    "pick_channels": "wavegraph.nodes.dsp.channels:PickChannels",
    "real_to_complex": "wavegraph.nodes.dsp.spectral:RealToComplex",
    "recorder": "wavegraph.nodes.io.recorder:Recorder",
    "rereference": "wavegraph.nodes.dsp.channels:Rereference",
    "resample": "wavegraph.nodes.dsp.resample:Resample",
    "running_zscore": "wavegraph.nodes.dsp.scaling:RunningZScore",
    "sine": "wavegraph.nodes.sim.synthetic:Sine",
    "sliding_window": "wavegraph.nodes.dsp.windows:SlidingWindow",
    "ssvep_decoder": "wavegraph.nodes.models.ssvep:SSVEPDecoder",
    "stft": "wavegraph.nodes.dsp.windows:STFT",
}
