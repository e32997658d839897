"""Agents: the planning layer above ``tools``. Each agent decides through the run's policy and returns
pydantic plans; none runs a tool itself (the graph does).

Modules, in data-flow order:

- ``models``: the plans and verdicts every agent outputs (instructions, storyboard, audio and effect
  plans, findings, critiques). ``brief``: the decoded SID and product meta the instruction model reads.
- ``policy``: the seam, ``AgentTask`` → ``Decision``, and the rule policy. ``conversation``: the run's one
  conversation (the paper's Eq. 14) every call extends.
- ``instruction``: the brief → shot-level instructions, with the style fitted to the tools' capabilities.
- ``visual``: the storyboard, cuts on the beat grid. ``audio``: narration lines, music spec, ducking,
  loudness target (``copy``: speech-length estimates and condensing a line). ``effect``: subtitle cues,
  style, transitions, overlays and the CTA card.
- ``critic``: the checks on a measured draft, routing to the agent at fault and the round to deliver.
- ``llm_client``: one structured-output client for any OpenAI-compatible endpoint and its ``LLMError``
  family. ``llm_specs``, ``response_schema``, ``merge``: what an LLM may decide per role, the schema one
  call is held to and the per-field merge with the rule. ``llm_policy``: the LLM policy built from them.
- ``testing``: test doubles for the seam (``FunctionPolicy``, ``ScriptedEndpoint``).
"""
