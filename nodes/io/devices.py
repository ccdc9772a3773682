"""What `wavegraph devices` prints: audio devices (PortAudio), the LSL streams visible from here and, where BrainFlow
is installed, its boards (those that need no hardware; `--all-boards`: every one, or where BrainFlow is not installed
that it is unavailable, with the fix).

No part fails the command: a missing PortAudio or pylsl, a BrainFlow that cannot load its library, is reported in its
section with the fix.
"""

from __future__ import annotations

import argparse
import importlib.util

from wavegraph.pipeline.spec import SpecError

LSL_WAIT_S = 1.0  # how long to listen for LSL streams
# BrainFlow's boards that need no hardware: what each stands for (brainflow_source's parameters)
NO_HARDWARE = {
    "SYNTHETIC_BOARD": "simulated signals",
    "PLAYBACK_FILE_BOARD": "replays a file BrainFlow wrote (file, master_board)",
    "STREAMING_BOARD": "another BrainFlow session's stream (ip_address, ip_port, master_board)",
}


def audio_section() -> list[str]:
    from .audio import import_sounddevice

    try:
        sd = import_sounddevice(rescan=True)
    except SpecError as e:
        return ["audio devices: unavailable", f"  {e}"]
    try:
        devices = sd.query_devices()
        apis = sd.query_hostapis()
    except sd.PortAudioError as e:
        return ["audio devices: unavailable", f"  PortAudio error: {e}"]
    if len(devices) == 0:
        from .audio import NO_DEVICE_HINT

        names = ", ".join(a["name"] for a in apis) or "none"
        return [f"audio devices: none (PortAudio host APIs: {names})", f"  fix: {NO_DEVICE_HINT}"]
    default_in, default_out = sd.default.device
    lines = ["audio devices (use the index or name as `device:` of audio_input / audio_output):"]
    for d in devices:
        marks = ("<in " if d["index"] == default_in else "") + ("out>" if d["index"] == default_out else "")
        lines.append(
            f"  {d['index']:>2} {d['name']} [{apis[d['hostapi']]['name']}] "
            f"{d['max_input_channels']} in, {d['max_output_channels']} out, "
            f"{d['default_samplerate']:g} Hz {marks}".rstrip()
        )
    return lines


def lsl_section(wait_time: float = LSL_WAIT_S) -> list[str]:
    from .lsl import import_pylsl
    from .lsl_config import discovery_note
    from .lsl_info import stream_lines

    try:
        pylsl = import_pylsl()
    except SpecError as e:
        return ["LSL streams: unavailable", f"  {e}"]
    infos = pylsl.resolve_streams(wait_time=wait_time)
    if not infos:
        return [f"LSL streams: none visible after {wait_time:g} s ({discovery_note()})"]
    lines = ["LSL streams (use name or type in lsl_inlet):"]
    lines += [f"  {s}" for s in stream_lines(infos)]
    return lines


def brainflow_section(all_boards: bool = False) -> list[str]:
    """BrainFlow's boards (name and id, as brainflow_source's `board:`): by default the count and those that need no
    hardware; all_boards: every board with its rate and EEG channels. Nothing where BrainFlow is not installed (an
    optional extra), unless all_boards asks for them: then that it is unavailable, with the pip line."""
    if not all_boards and importlib.util.find_spec("brainflow") is None:
        return []
    from .brainflow_source import _version, import_brainflow

    try:
        bs = import_brainflow()
    except SpecError as e:
        return ["BrainFlow boards: unavailable", f"  {e}"]
    boards = sorted(((int(b.value), b.name) for b in bs.BoardIds if b.name != "NO_BOARD"), key=lambda b: b[0])
    lines = [
        f"BrainFlow {_version()} boards (use the name or id as `board:` of brainflow_source): {len(boards)}"
        + ("" if all_boards else "; those that need no hardware below (`wavegraph devices --all-boards`: every one)")
    ]
    for value, name in boards:
        if name in NO_HARDWARE:
            summary = _board_summary(bs, value) if name == "SYNTHETIC_BOARD" else ""
            lines.append(f"  {value:>3} {name}{summary}: no hardware, {NO_HARDWARE[name]}")
        elif all_boards:
            lines.append(f"  {value:>3} {name}{_board_summary(bs, value)}")
    return lines


def _board_summary(bs, value: int) -> str:
    """' (Cyton, 250 Hz, 8 EEG)' from the board's static description; '' where BrainFlow has none."""
    try:
        desc = bs.BoardShim.get_board_descr(value)
    except bs.BrainFlowError:
        return ""
    eeg = f", {len(desc['eeg_channels'])} EEG" if desc.get("eeg_channels") else ""
    return f" ({desc.get('name', '?')}, {desc.get('sampling_rate', '?')} Hz{eeg})"


def list_devices(lsl_wait: float = LSL_WAIT_S, all_boards: bool = False) -> str:
    """Audio devices, visible LSL streams and BrainFlow's boards, one per line."""
    brainflow = brainflow_section(all_boards)
    return "\n".join(audio_section() + [""] + lsl_section(lsl_wait) + ([""] + brainflow if brainflow else []))


def main(argv: list[str] | None = None) -> int:
    """`wavegraph devices [--all-boards]` (entry point `devices` in the group wavegraph.commands)."""
    ap = argparse.ArgumentParser(
        prog="wavegraph devices", description="list audio devices, visible LSL streams and BrainFlow boards"
    )
    ap.add_argument(
        "--all-boards", action="store_true", help="list every BrainFlow board (default: those that need no hardware)"
    )
    args = ap.parse_args(argv)
    print(list_devices(all_boards=args.all_boards))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
