"""`ragvid llm …`: the vLLM command for a Qwen instruct model, and the small local SmolLM2 server."""

from __future__ import annotations

import importlib.util
import shlex
import shutil
import signal
import subprocess
import sys
from typing import Annotated

import typer

from ragvid.exits import command, fail, leave
from ragvid.llm_server import DEFAULT_MAX_MODEL_LEN, DEFAULT_QWEN, VLLM_VERSION, vllm_command

llm_app = typer.Typer(
    help="LLM back-ends: the vLLM command for a Qwen instruct model, and the small SmolLM2 server for tests.",
    no_args_is_help=True,
)




def gpu_visible() -> bool:
    """An NVIDIA GPU answers `nvidia-smi -L`, or torch sees CUDA."""
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            done = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            done = None
        if done is not None and done.returncode == 0 and "GPU" in done.stdout:
            return True
    if importlib.util.find_spec("torch") is not None:
        try:
            import torch

            return bool(torch.cuda.is_available())
        except Exception:
            return False
    return False


@llm_app.command()
@command
def serve(
    model: Annotated[str, typer.Option(help="Hugging Face id or local path of a Qwen instruct model")] = DEFAULT_QWEN,
    port: Annotated[int, typer.Option(help="port of the OpenAI server on 127.0.0.1")] = 8000,
    max_model_len: Annotated[int, typer.Option(help="context length the server allocates")] = DEFAULT_MAX_MODEL_LEN,
    thinking: Annotated[bool, typer.Option(help="let Qwen3 think before answering (off: JSON only)")] = False,
    launch: Annotated[
        bool, typer.Option("--launch/--print", help="run the command (GPU + vllm installed) or only print it")
    ] = False,
) -> None:
    """Print (default) or launch the vLLM OpenAI server for a Qwen instruct model: prefix caching,
    structured outputs, the model family's tool-call/reasoning parsers."""
    argv = vllm_command(model, port, max_model_len=max_model_len, thinking=thinking)
    if not launch:
        print(f"# vLLM {VLLM_VERSION}: pip install 'vllm=={VLLM_VERSION}'", file=sys.stderr)
        print(shlex.join(argv))
        print(f"# then: RAGVID base URL http://127.0.0.1:{port}/v1, model {model}", file=sys.stderr)
        return
    if importlib.util.find_spec("vllm") is None:
        fail(f"vllm is not installed here: pip install 'vllm=={VLLM_VERSION}' (or drop --launch to print the command)")
    if not gpu_visible():
        fail("no GPU visible (nvidia-smi / torch.cuda); vLLM needs one — drop --launch to print the command")
    exe = shutil.which("vllm")
    run = [exe, *argv[1:]] if exe else [sys.executable, "-m", "vllm.entrypoints.cli.main", *argv[1:]]
    print(shlex.join(run), file=sys.stderr)
    try:
        code = subprocess.call(run)
    except KeyboardInterrupt:
        code = 130
    leave(code)


@llm_app.command()
@command
def smollm2(
    port: Annotated[int | None, typer.Option(help="port on 127.0.0.1 (default: a free one)")] = None,
) -> None:
    """Run the shipped SmolLM2-135M under llama-cpp-python's OpenAI server in the foreground (Ctrl-C stops)."""
    from ragvid.llm_server import LLMServerError, SmolLM2Server

    server = SmolLM2Server(port)
    try:
        server.start()
    except LLMServerError as e:
        fail(str(e))
    print(f"SmolLM2 serving at {server.base_url} (model '{server.model}'); Ctrl-C stops it", flush=True)
    previous = signal.signal(signal.SIGTERM, lambda *_: server.stop())
    try:
        code = server.wait()
    except KeyboardInterrupt:
        code = 0
    finally:
        server.stop()
        signal.signal(signal.SIGTERM, previous)
    leave(0 if code in (0, -signal.SIGTERM, -signal.SIGINT) else 1)
