"""Graphs: the LangGraph layer above ``agents``. Nodes orchestrate; the decisions live in the agents' pure
functions and the work in the tools.

Modules, in data-flow order:

- ``state``: the channels and their entry models, appended never overwritten, and the graphs' input.
- ``context``: ``RunContext`` (toolbox, policy, home folder, render profile), passed as the runtime context.
  ``checkpoint``: the SQLite checkpointer that makes ``--resume`` continue from the last finished node.
- ``timeline``: plans → clip requests and the composer's ``Timeline`` (pure). ``toolrun``: timed, recorded,
  concurrency-bounded tool calls. ``measure``: the Critic's measurements of a draft and its stems.
- ``nodes``: the VGA nodes (load SID, instruction, visual, audio, effect, draft render, critic, final
  render) and the routing after the Critic.
- ``vga``: the VGA graph with bounded reflection. ``rag``: recommender → VGA subgraph.
- ``record``: the run record (``OUT.run.json``) built from the final state.
"""
