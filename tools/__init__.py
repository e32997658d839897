"""Tools: the bottom layer, which acts on media. Agents plan; they reach tools only through ``protocols``.

Modules, in data-flow order:

- ``errors``: ``RagvidError``, ``InputError``, ``ToolError`` (every package's exceptions). ``limits``: the
  limits more than one module relies on (durations, lead-in, target loudness). ``vocabulary``: palettes,
  camera motions, transitions and music moods, and ``nearest`` for a value a tool lacks.
- ``models``: typed requests and results of every tool family. ``protocols``: one protocol per family and
  ``Capabilities``, what the active tools support.
- ``timing``: beat grids, beat-aligned shot boundaries and the clip spans transitions need (pure).
- ``cache``: the content-addressed, atomic tool cache. ``ffmpeg``: locating and running ffmpeg.
  ``escape``: untrusted text into ASS and filtergraph values.
- ``video``: footage per shot (image-to-video, motion graphics, stock, diffusers, an OpenAI-style API).
  ``speech``: narration lines to trimmed WAVs with measured onsets (piper, espeak-ng, edge-tts).
  ``music``: the procedural background track, cuts on beats.
- ``subtitles``: cues and overlays to one ASS file (``fonts``: the shipped DejaVu Sans).
- ``composer``: a ``Timeline`` to the MP4 in one ffmpeg pass, mastered to the loudness target.
- ``probe``, ``audio_measure``, ``boundaries``: what the Critic measures on a draft (streams, cuts, black and
  frozen frames, loudness, speech intervals, shot boundaries).
"""
