"""A Docker engine of the tests' own, the images the repository's Dockerfile and compose file name, and
compose stacks on it.

No image registry can be reached here, so the official base images (python, node, nginx, redis) are
replaced by local stand-ins built from a Debian root filesystem (`debootstrap`) and tagged, on this
engine only, with the official names. The Dockerfile and docker-compose.yml are used exactly as a user
runs them. The engine keeps its images in a cache directory between runs (`DEEPCHAT_DOCKER_CACHE`,
default /var/cache/deepchat-gateway-tests): the first run builds everything (minutes), later ones only
what changed. dockerd picks its storage driver: overlay2 where the cache's filesystem allows it (ext4
here), else vfs, which copies every layer whole (much slower; hence the few layers of the stand-ins and
of the Dockerfile).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import httpx
import pytest
import yaml

from tests.gateway_process import ROOT, end_process

CACHE = Path(os.environ.get("DEEPCHAT_DOCKER_CACHE", "/var/cache/deepchat-gateway-tests"))
STANDINS = Path(__file__).with_name("standins")
GATEWAY_IMAGE = "deepchat-gateway"
# The machine reaches the package registries through TLS interception: images that install packages
# trust the machine's CA bundle, under a name of its own (Debian's ca-certificates would rewrite the
# standard one).
MACHINE_CA = Path(os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt")
CA_IN_IMAGE = "/usr/local/share/machine-ca.crt"
CA_VARIABLES = ("SSL_CERT_FILE", "PIP_CERT", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")
# Command -> the Debian package that provides it (scripts/system-deps.sh installs them).
TOOLS = {"dockerd": "docker.io", "docker": "docker.io", "debootstrap": "debootstrap"}
COMPOSE_COMMANDS = {"v1": ["docker-compose"], "v2": ["docker", "compose"]}


def missing_component(message: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(message)  # under CI a missing component is a failure, never a skip
    pytest.skip(message)


def require_tools() -> None:
    if os.geteuid() != 0:
        missing_component("the container tests start their own Docker engine, which needs root")
    missing = [package for command, package in TOOLS.items() if shutil.which(command) is None]
    if missing:
        missing_component(f"missing {', '.join(sorted(set(missing)))}: run scripts/system-deps.sh")


def compose_available(version: str) -> bool:
    command = COMPOSE_COMMANDS[version]
    found = subprocess.run([*command, "version"], capture_output=True, text=True, check=False)
    return found.returncode == 0 and "version" in found.stdout.lower()


@dataclass
class Engine:
    socket: str
    process: subprocess.Popen[bytes]
    exec_root: Path
    log_path: Path
    timings: dict[str, float] = field(default_factory=dict)
    storage_driver: str = ""

    @property
    def env(self) -> dict[str, str]:
        # The legacy builder: BuildKit is not installed, and `# syntax=` lines would need a registry.
        return {**os.environ, "DOCKER_HOST": f"unix://{self.socket}", "DOCKER_BUILDKIT": "0"}

    def run(
        self, *args: str, timeout: float = 600, check: bool = True, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            args, env=self.env, capture_output=True, text=True, timeout=timeout, input=input, check=False
        )
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    def docker(self, *args: str, timeout: float = 600, check: bool = True) -> str:
        return self.run("docker", *args, timeout=timeout, check=check).stdout

    def has_image(self, name: str) -> bool:
        return self.run("docker", "image", "inspect", name, check=False).returncode == 0

    def stop(self) -> None:
        end_process(self.process, timeout=60)
        # dockerd leaves its bind mount of the host's network namespace behind.
        for line in Path("/proc/mounts").read_text().splitlines():
            mount_point = line.split()[1]
            if mount_point.startswith(f"{self.exec_root}/"):
                subprocess.run(["umount", mount_point], check=False, capture_output=True)
        shutil.rmtree(self.exec_root, ignore_errors=True)


@contextlib.contextmanager
def running_engine() -> Iterator[Engine]:
    """dockerd on a socket of its own, its images in the cache; one test run at a time uses the cache."""
    require_tools()
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        # Short paths: containerd's sockets live under the exec root, and socket paths are limited.
        exec_root = Path(tempfile.mkdtemp(prefix="dcgw-", dir="/tmp"))
        log_path = CACHE / "dockerd.log"
        command = [
            "dockerd",
            "--iptables=false",  # leave the machine's firewall alone; published ports use docker-proxy
            "--bridge=none",  # no docker0: compose makes its own networks, builds use the host's
            f"--data-root={CACHE / 'docker'}",
            f"--exec-root={exec_root}",
            f"--pidfile={exec_root / 'docker.pid'}",
            f"--host=unix://{exec_root / 'docker.sock'}",
        ]
        process = subprocess.Popen(command, stdout=log_path.open("wb"), stderr=subprocess.STDOUT)
        engine = Engine(str(exec_root / "docker.sock"), process, exec_root, log_path)
        try:
            deadline = time.monotonic() + 60
            while engine.run("docker", "version", check=False, timeout=10).returncode != 0:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"dockerd did not start:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.3)
            engine.storage_driver = engine.docker("info", "--format", "{{.Driver}}").strip()
            # An earlier run that was killed leaves stacks behind, and their restart policy starts them again.
            if leftovers := engine.docker("ps", "--all", "--quiet").split():
                engine.docker("rm", "--force", "--volumes", *leftovers)
            engine.docker("network", "prune", "--force")
            yield engine
        finally:
            engine.stop()


# --- images -----------------------------------------------------------------------------------------


def _digest(*parts: bytes) -> str:
    return hashlib.sha256(b"\0".join(parts)).hexdigest()[:12]


def base_image(engine: Engine) -> str:
    """A minimal Debian 12 image that trusts the machine's CA; made once per CA bundle."""
    name = f"deepchat-test/debian:bookworm-{_digest(MACHINE_CA.read_bytes())}"
    if engine.has_image(name):
        return name
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=CACHE) as directory:
        rootfs = Path(directory) / "rootfs"
        done = subprocess.run(
            ["debootstrap", "--variant=minbase", "bookworm", str(rootfs)],
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
        if done.returncode != 0:
            raise RuntimeError(f"debootstrap failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man"):
            for path in (rootfs / leftover).glob("*"):
                if path.is_file():
                    path.unlink()
                elif path.is_dir() and path.name != "partial":
                    shutil.rmtree(path)
        shutil.copyfile(MACHINE_CA, rootfs / CA_IN_IMAGE.lstrip("/"))
        changes = [arg for variable in CA_VARIABLES for arg in ("--change", f"ENV {variable}={CA_IN_IMAGE}")]
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(
            ["docker", "import", *changes, "--change", 'CMD ["bash"]', "-", name],
            stdin=tar.stdout,
            env=engine.env,
            capture_output=True,
            check=False,
        )
        tar.wait()
        if imported.returncode != 0:
            raise RuntimeError(f"docker import failed: {imported.stderr.decode()}")
    engine.timings["base image"] = time.monotonic() - started
    return name


def official_images() -> set[str]:
    """The images the Dockerfile builds from and the compose file runs, other than the gateway's own."""
    names = set(re.findall(r"(?m)^FROM\s+(\S+)", (ROOT / "Dockerfile").read_text()))
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    names |= {service["image"] for service in services.values() if "image" in service}
    return {name for name in names if name != GATEWAY_IMAGE}


def provide_standins(engine: Engine) -> None:
    """Tag a stand-in under each official name; a stand-in is rebuilt only when its recipe changes."""
    base = base_image(engine)
    for official in sorted(official_images()):
        repository = official.split(":")[0].rsplit("/", 1)[-1]
        recipe_path = STANDINS / f"{repository}.Dockerfile"
        if not recipe_path.exists():
            raise AssertionError(f"no stand-in for {official}: add {recipe_path.relative_to(ROOT)}")
        recipe = re.sub(r"(?m)^FROM deepchat-test/debian:\S+", f"FROM {base}", recipe_path.read_text())
        standin = f"deepchat-test/{repository}:{_digest(recipe.encode())}"
        if not engine.has_image(standin):
            started = time.monotonic()
            with tempfile.TemporaryDirectory() as context:
                (Path(context) / "Dockerfile").write_text(recipe)
                engine.docker("build", "--network", "host", "-q", "-t", standin, context, timeout=1200)
            engine.timings[f"stand-in {repository}"] = time.monotonic() - started
        engine.docker("tag", standin, official)


def build_gateway_image(engine: Engine) -> None:
    """`docker build` of the repository's Dockerfile, as a user runs it (the host network reaches PyPI)."""
    started = time.monotonic()
    engine.docker("build", "--network", "host", "-t", GATEWAY_IMAGE, str(ROOT), timeout=1500)
    engine.timings["gateway image"] = time.monotonic() - started
    # Drop the layers of builds older than a week; newer dangling ones are the build stages' cache.
    engine.docker("image", "prune", "--force", "--filter", "until=168h")


# --- compose stacks ----------------------------------------------------------------------------------


@dataclass
class Stack:
    """The repository's docker-compose.yml as a project of its own, configured by an env file."""

    engine: Engine
    compose: list[str]
    env_file: Path
    port: int
    project: str = field(default_factory=lambda: "dcgw" + uuid.uuid4().hex[:8])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def run(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.engine.run(
            *self.compose,
            "--project-name",
            self.project,
            "--project-directory",
            str(ROOT),
            "--file",
            str(ROOT / "docker-compose.yml"),
            "--env-file",
            str(self.env_file),
            *args,
            timeout=timeout,
            check=check,
        )

    def containers(self, service: str) -> list[str]:
        ids = self.engine.docker(
            "ps",
            "--all",
            "--quiet",
            "--no-trunc",
            "--filter",
            f"label=com.docker.compose.project={self.project}",
            "--filter",
            f"label=com.docker.compose.service={service}",
        )
        return sorted(ids.split())

    def inspect(self, container: str, template: str) -> str:
        return self.engine.docker("inspect", "--format", template, container).strip()

    def logs(self, container: str) -> str:
        done = self.engine.run("docker", "logs", container)
        return done.stdout + done.stderr

    def wait_healthy(self, service: str, count: int, seconds: float = 120) -> list[str]:
        deadline = time.monotonic() + seconds
        while True:
            containers = self.containers(service)
            states = [self.inspect(c, "{{.State.Status}} {{.State.Health.Status}}") for c in containers]
            if len(containers) == count and all(state == "running healthy" for state in states):
                return containers
            if time.monotonic() > deadline:
                raise AssertionError(f"{service}: {states}\n{self.run('logs', check=False).stdout[-4000:]}")
            time.sleep(0.5)

    def wait_serving(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            time.sleep(0.3)
        logs = self.run("logs", check=False).stdout[-4000:]
        raise AssertionError(f"nothing answers on {self.url}:\n{logs}")

    def network_gateway(self) -> str:
        """The host's address on the stack's network: where a fake upstream on the host is reached."""
        network = f"{self.project}_internal"
        return self.engine.docker(
            "network", "inspect", "--format", "{{(index .IPAM.Config 0).Gateway}}", network
        ).strip()

    def down(self) -> None:
        self.run("down", "--volumes", "--timeout", "5", check=False, timeout=180)


def write_env_file(directory: Path, port: int, settings: dict[str, str]) -> Path:
    """A user's `.env`: the gateway's settings, and (as compose reads it too) where nginx is published."""
    path = directory / f"stack-{uuid.uuid4().hex[:6]}.env"
    stack = {"GATEWAY_ENV_FILE": str(path), "GATEWAY_PUBLIC_PORT": f"127.0.0.1:{port}"}
    path.write_text("".join(f"{name}={value}\n" for name, value in {**stack, **settings}.items()))
    return path
