"""Entry points for `langgraph.json` (LangGraph Studio / `langgraph dev`).

Exported without a checkpointer: the dev server supplies its own and refuses graphs that bring one.
Studio passes no runtime context, so nodes fall back to the offline default context.
"""

from __future__ import annotations

from graphs.vga import build_vga_graph

vga = build_vga_graph().compile()
