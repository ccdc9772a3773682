"""What `wavegraph devices` prints: audio devices (PortAudio) and the LSL streams visible from here.

Neither part fails the command: a missing PortAudio or pylsl is reported in its section with the fix.
"""

from __future__ import annotations

from wavegraph.pipeline.spec import SpecError

LSL_WAIT_S = 1.0  # how long to listen for LSL streams


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


def list_devices(lsl_wait: float = LSL_WAIT_S) -> str:
    """Audio devices and visible LSL streams, one per line."""
    return "\n".join(audio_section() + [""] + lsl_section(lsl_wait))


def main(argv: list[str] | None = None) -> int:
    """`wavegraph devices` (entry point `devices` in the group wavegraph.commands)."""
    print(list_devices())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
