"""Limits that more than one module relies on, defined once: the planning agents, the Critic, the
composer, the graph input and the shell must agree on them, and a limit copied into two modules drifts
(the end-card hold was 2.5 s in one agent and 2.6 s in two others).

Times are seconds on the output timeline, loudness is LUFS (EBU R128) and LU.
"""

from __future__ import annotations

# --- running time
MIN_DURATION, MAX_DURATION = 6.0, 60.0
"""The video lengths a request may ask for."""
AUTO_MIN_DURATION, AUTO_MAX_DURATION = 15.0, 30.0
"""With no length asked for, the instruction model sizes the video to its copy within this range."""

# --- shots and speech on the timeline
END_CARD_SECONDS = 2.6
"""The CTA end card stays up at least this long: time to read it, and the last shot is held that long
so the card never covers the cut before it."""
LEAD_IN = 0.3
"""Speech starts this long after its shot's cut (and after half a transition), so the eye lands first."""
TAIL = 0.25
"""…and ends this long before the next cut."""

# --- text on screen
SAFE_WIDTH = 0.9
"""Share of the frame width inside the title-safe area: no line of text (subtitle, title, badge, CTA) is
wider, so none runs off a phone screen's edge."""

# --- loudness
TARGET_LUFS = -14.0
"""Integrated loudness of every render (the streaming platforms' normalisation target)."""
MASTER_TOLERANCE_LU = 0.25
"""The composer corrects its master gain until the limited mix lands this close to the target."""
ACCEPT_TOLERANCE_LU = 1.0
"""The Critic accepts a draft this far from the target (drafts are not re-mastered per round)."""

# --- reflection
MAX_REFLECTIONS = 2
"""Reflection rounds after the first draft (the paper bounds them at two)."""
