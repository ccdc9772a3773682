"""The live monitor page's status line (pipeline/monitor_app.py): what the run has sent, and whether this page was
behind.

Both channels to the page have one update in flight (the traces' messages, 30 a second, and Bokeh's document updates,
4 a second): what comes while the page has not drawn the last one is merged into the next (trace frames) or waits
for it (page ticks skipped). One such merge now and then is no news: a page that takes 40 ms to draw a trace message
or 300 ms for a document update merges a frame or skips a tick while being at most that late. The title says the
page was behind only once an update waited BEHIND_S or longer to be drawn (the data on the page that much older than
the run's), with the longest wait; the counts alone are in the run's statistics. The wait for the page's first
acknowledgement (the page still loading the document) does not count.

BEHIND_S measured (headless chromium, the feed of tests/test_monitor_document_backlog_session28.py, 20 s a run, on a
2-core box at load 6-17 from other work): a light page (16 channels, a 16-bin heatmap at 4 columns/s) unthrottled
waited up to 1.0-2.3 s for an update in 6 of 8 runs (4-5 s in 2), skipping 44-96% of ticks; one throttled 6x (and the
64-channel, 128-bin page unthrottled on that box) waited 3.9-5.2 s, its updates going on the 5 s timeout. No box was
idle enough to measure a normally loaded one: there the page draws each update in a frame or two.
"""

from __future__ import annotations

BEHIND_S = 2.0  # an update the page had not drawn for this long: the page was behind (said in its title)


def longest_wait(longest: float, waited: float, drawn_before: bool) -> float:
    """The longest wait for the page to draw an update, with one more `waited` s (counted once the page has drawn
    one before: not while it loads)."""
    return max(longest, waited) if drawn_before and waited >= BEHIND_S else longest


def status_text(n_streams: int, hub, page_skipped: int, page_behind_s: float, traces_behind_s: float) -> str:
    """The page's title: streams and frames; bad frames dropped; trace frames merged (over all pages) and page
    updates skipped (this page's) with how far behind, once this page was BEHIND_S or more behind."""
    text = f"<b>wavegraph monitor</b>: {n_streams} streams, {hub.frames_in} frames"
    if hub.frames_bad:
        text += f", {hub.frames_bad} bad frames dropped"
    if hub.traces_merged and traces_behind_s:
        text += f", {hub.traces_merged} trace frames merged (the page was behind by up to {traces_behind_s:.1f} s)"
    if page_skipped and page_behind_s:
        text += f", {page_skipped} page updates skipped (this page was behind by up to {page_behind_s:.1f} s)"
    return text


def trace_title(name: str, view, shown: int) -> str:
    """The trace plot's title; with more channels than it draws, which ones (a 300-channel stream showed its
    first 64 with nothing to say the others were left out). A features or tokens stream is drawn in the heatmap
    alone, one row per value up to the tap's MAX_BINS: how many of its values (a 64-channel bandpower's 256 said
    'channels 1-64 of 256 shown', the heatmap drawing 128 of them); an events stream has no rate ('0 Hz')."""
    if view is None:
        return name
    total = max(view.n_channels, len(view.channels))
    rate = f"{view.rate:g} Hz" if view.rate else "irregular"
    if view.kind in ("features", "tokens"):
        frames = view.frames
        drawn = len(frames[-1][2]) if frames else total
        more = f", values 1-{drawn} of {total} shown in the heatmap" if 0 < drawn < total else ""
    else:
        more = f", channels 1-{shown} of {total} shown" if 0 < shown < total else ""
    return f"{name} ({view.kind}, {rate}{more})"


__all__ = ["BEHIND_S", "longest_wait", "status_text", "trace_title"]
