"""The peers' virtual environments: one per tool, pinned versions, created once and reused.

Each tool lives in `.venv-peers/<tool>` (ignored by git), made from the same Python as this
project's venv. A stamp file records the pinned spec; a venv whose stamp matches is reused,
any other is rebuilt. An install that fails leaves its log and turns into a NotInstallable
with the reason, so the bench can print that row and go on.

Why the installs are not plain `pip install <tool>`:
  xplique 2.0.2   requires `tensorflow[and-cuda]<=2.20` on Linux (gigabytes of CUDA wheels a CPU
                  run never uses): it is installed with --no-deps beside tensorflow 2.20.0
                  without that extra, and its other requirements (less `ruff`, a linter it
                  lists but never imports).
  tf-keras-vis    lists no TensorFlow at all: TensorFlow 2.21 (the version this project runs),
                  whose tf.keras is Keras 3, which 0.8.7's ActivationMaximization runs on.
  torch-lucent    requires torchvision, only for `Normalize`, which preprocess=False never calls;
                  a PyPI torchvision built for another torch fails at import, so a stub module
                  stands in (torchvision_stub.py). torch is the CPU build where pip finds one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
VENVS = ROOT / ".venv-peers"
INSTALL_TIMEOUT_S = 3600


class NotInstallable(RuntimeError):
    """A tool whose environment could not be made: the message is the reason, one line."""


@dataclass(frozen=True)
class EnvSpec:
    packages: tuple[str, ...]  # installed with their dependencies
    no_deps: tuple[str, ...] = ()  # installed afterwards with --no-deps
    stub_torchvision: bool = False
    run_env: dict[str, str] = field(default_factory=dict)  # environment of the runner process

    def digest(self) -> str:
        text = json.dumps([self.packages, self.no_deps, self.stub_torchvision, self.run_env,
                           sys.version_info[:2]], sort_keys=True)
        text += (HERE / "torchvision_stub.py").read_text(encoding="utf-8") if self.stub_torchvision else ""
        return hashlib.sha256(text.encode()).hexdigest()[:16]


SPECS: dict[str, EnvSpec] = {
    "xplique": EnvSpec(
        packages=("tensorflow==2.20.0", "tf-keras==2.20.1", "tensorflow-probability==0.25.0",
                  "numpy>=2.0,<2.3", "scipy<=1.15.3", "scikit-image<=0.25.2", "scikit-learn<=1.7.2",
                  "opencv-python-headless", "matplotlib>=3.5", "einops>=0.1.0", "deprecated>=1.1.0",
                  "pillow"),
        no_deps=("xplique==2.0.2",),
    ),
    "tf-keras-vis": EnvSpec(
        packages=("tensorflow==2.21.0", "tf-keras-vis==0.8.7", "pillow"),
    ),
    "lucent": EnvSpec(
        packages=("torch==2.13.0", "kornia==0.4.1", "numpy", "pillow", "tqdm", "decorator", "ipython"),
        no_deps=("torch-lucent==0.1.8",),
        stub_torchvision=True,
    ),
}


def venv_python(tool: str) -> Path:
    return VENVS / tool / "bin" / "python"


def _pip(python: Path, args: list[str], log) -> None:
    command = [str(python), "-m", "pip", "install", "--progress-bar", "off", *args]
    log.write(f"\n$ {' '.join(command)}\n")
    log.flush()
    done = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, timeout=INSTALL_TIMEOUT_S)
    if done.returncode != 0:
        raise NotInstallable(f"pip install {' '.join(args)} failed (exit {done.returncode})")


def _stub_torchvision(python: Path) -> None:
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    package = Path(purelib) / "torchvision"
    (package / "transforms").mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text('"""A stand-in: see bench/peers/envs.py."""\n__version__ = "stub"\n')
    shutil.copy(HERE / "torchvision_stub.py", package / "transforms" / "__init__.py")


def _last_error(log_path: Path) -> str:
    lines = [line.strip() for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR") or "Error" in line]
    return (errors or lines or ["no output"])[-1][:240]


def ensure(tool: str, rebuild: bool = False) -> Path:
    """The Python of `tool`'s venv, made if missing or stale; NotInstallable if it cannot be made."""
    spec, folder = SPECS[tool], VENVS / tool
    stamp = folder / ".bench-peers-stamp"
    if not rebuild and stamp.is_file() and stamp.read_text().strip() == spec.digest():
        return venv_python(tool)
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    log_path = folder.parent / f"{tool}-install.log"
    print(f"creating {folder.relative_to(ROOT)} (pinned: {', '.join(spec.packages + spec.no_deps)}); "
          f"log in {log_path.relative_to(ROOT)}", flush=True)
    with open(log_path, "w", encoding="utf-8") as log:
        try:
            subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, stdout=log, stderr=log)
            _pip(venv_python(tool), ["-q", "--upgrade", "pip"], log)
            _pip(venv_python(tool), list(spec.packages), log)
            if spec.no_deps:
                _pip(venv_python(tool), ["--no-deps", *spec.no_deps], log)
            if spec.stub_torchvision:
                _stub_torchvision(venv_python(tool))
        except NotInstallable as error:
            log.flush()
            raise NotInstallable(f"{error}: {_last_error(log_path)}") from None
        except (subprocess.SubprocessError, OSError) as error:
            raise NotInstallable(f"{type(error).__name__}: {error}"[:240]) from None
    stamp.write_text(spec.digest())
    return venv_python(tool)


def run_env(tool: str) -> dict[str, str]:
    """The runner's environment: ours, less this venv's, plus the tool's own settings."""
    env = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update(SPECS[tool].run_env)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env
