"""Peer benchmark: the same feature-visualization work in this project and in peer tools.

    python bench/peers/run.py                       # all: ours, xplique, tf-keras-vis, lucent, lucent-128
    python bench/peers/run.py --tools ours,lucent --steps 8 --filters 2     # a smoke run
    python bench/peers/run.py --score-only          # re-score the images already in the work folder

The work: VGG16 block4_conv1, filters 0-7 in one batch, 128 steps, 128 px images, each tool's
default parameterization, the offline `hed` weights. Those 13 conv layers' weights are exported
once from this project's venv to <work>/weights.npz, and every tool loads them from there.
Each tool runs in its own process and venv (.venv-peers/<tool>, pinned, created on first use:
envs.py) and writes its 8-bit images and timing into <work>/<tool>/. Then all images are
scored in one network, this project's float32 VGG16 (score.py), and a table is printed with
image-steps/s (filters x steps / seconds of the optimization loop alone) and the ratio to
this project, filters alive, median activation, rank, high-frequency share and grey spread.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE), str(ROOT)]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import common  # noqa: E402
import envs  # noqa: E402

# tool -> (runner, the venv it runs in (None: this project's), its own arguments). Lucent runs
# twice: at its default, which upsamples the transformed canvas to 224 px before the model (3x
# the pixels of a 128 px image), and with render_vis(fixed_image_size=128), the model input the
# others' work is closest to.
RUNNERS = {"ours": ("tool_ours.py", None, []), "xplique": ("tool_xplique.py", "xplique", []),
           "tf-keras-vis": ("tool_tfkerasvis.py", "tf-keras-vis", []), "lucent": ("tool_lucent.py", "lucent", []),
           "lucent-128": ("tool_lucent.py", "lucent", ["--model-size", "128"])}
RUN_TIMEOUT_S = 3600
DEFAULT_WORK = ROOT / ".bench-peers"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tools", default=",".join(RUNNERS), help=f"a subset of {','.join(RUNNERS)}")
    parser.add_argument("--layer", default="block4_conv1")
    parser.add_argument("--filters", type=int, default=8, help="the first N filters, in one batch")
    parser.add_argument("--steps", type=int, default=128)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help="work folder (default .bench-peers/)")
    parser.add_argument("--rebuild-envs", action="store_true", help="recreate the peers' venvs")
    parser.add_argument("--score-only", action="store_true", help="score what the work folder holds")
    args = parser.parse_args(argv)
    args.tools = [tool.strip() for tool in args.tools.split(",") if tool.strip()]
    unknown = [tool for tool in args.tools if tool not in RUNNERS]
    if unknown:
        parser.error(f"unknown tool(s) {', '.join(unknown)}; choose from {', '.join(RUNNERS)}")
    args.tools.sort(key=list(RUNNERS).index)  # ours first: the reference of the ratios
    return args


def export_weights(work: Path) -> str:
    """The `hed` weights' 13 conv layers into <work>/weights.npz (once); their sha256."""
    sidecar = work / "weights.json"
    if (work / common.WEIGHTS_FILE).is_file() and sidecar.is_file():
        return json.loads(sidecar.read_text())["sha256"]
    from generator.architecture import CONV_LAYER_NAMES
    from generator.config import WeightsSpec
    from generator.network.weights import load_vgg16

    vgg, info = load_vgg16(WeightsSpec(source="hed"))
    weights = {name: tuple(vgg.get_layer(name).get_weights()) for name in CONV_LAYER_NAMES}
    common.save_weights(work / common.WEIGHTS_FILE, weights)
    sidecar.write_text(json.dumps({"source": info.source, "sha256": info.sha256}, indent=1))
    print(f"exported {info.source} weights (sha256 {info.sha256[:16]}...) to {work / common.WEIGHTS_FILE}")
    return info.sha256


def run_tool(tool: str, args) -> str | None:
    """Run one tool's runner in its venv; None when it wrote its result, else why not (one line)."""
    runner, venv, own_args = RUNNERS[tool]
    try:
        python = Path(sys.executable) if venv is None else envs.ensure(venv, args.rebuild_envs)
    except envs.NotInstallable as error:
        return f"not installable: {error}"
    folder = args.work / tool
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "result.json").unlink(missing_ok=True)
    command = [str(python), str(HERE / runner), "--work", str(args.work), "--layer", args.layer, "--tool", tool,
               "--filters", str(args.filters), "--steps", str(args.steps), "--size", str(args.size), *own_args]
    env = dict(os.environ) if venv is None else envs.run_env(venv)
    print(f"running {tool} ...", flush=True)
    load_before = os.getloadavg()[0]
    with open(folder / "log.txt", "w", encoding="utf-8") as log:
        try:
            done = subprocess.run(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                  timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return f"failed: over {RUN_TIMEOUT_S} s"
    lines = [line for line in (folder / "log.txt").read_text(errors="replace").splitlines() if line.strip()]
    if done.returncode != 0 or not (folder / "result.json").is_file():
        return f"failed (exit {done.returncode}): {(lines or ['no output'])[-1].strip()[:200]}"
    record = json.loads((folder / "result.json").read_text())
    record["load_average"] = [load_before, os.getloadavg()[0]]  # 1-minute, before and after: is the CPU shared?
    (folder / "result.json").write_text(json.dumps(record, indent=1))
    print(f"  {lines[-1]}", flush=True)
    return None


def score_all(args, tools: list[str]) -> dict[str, dict]:
    import score

    extractor = score.extractor_from(args.work, args.layer)
    return {tool: score.score_tool(extractor, args.work / tool) for tool in tools}


def _load_text(record: dict) -> str:
    load = record.get("load_average")
    return f"; load average {load[0]:.1f} before, {load[1]:.1f} after" if load else ""


def report(args, records: dict[str, dict], failures: dict[str, str], sha: str) -> str:
    import score
    from generator.machine import describe_cpu

    first = next(iter(records.values()), {})  # what was run (--score-only reads it back)
    layer, steps, size = (first.get(key, getattr(args, key)) for key in ("layer", "steps", "size"))
    count = len(first.get("filters", range(args.filters)))
    lines = [f"machine: {describe_cpu()}",
             f"work: {layer}, filters 0-{count - 1} in one batch, {steps} steps, {size} px; "
             f"weights hed (sha256 {sha[:16]}...), scored in this project's float32 VGG16", "",
             score.markdown_table(score.table_rows(records, failures)), ""]
    for tool, record in records.items():
        versions = ", ".join(f"{name} {version}" for name, version in record["versions"].items())
        lines.append(f"- {score.LABELS.get(tool, tool)}: {versions}; loop {record['seconds']:.1f} s, "
                     f"set-up (imports, model) {record['setup_seconds']:.1f} s; {'; '.join(record['notes'])}"
                     + _load_text(record))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.work = args.work.resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    sha = export_weights(args.work)
    failures: dict[str, str] = {}
    if not args.score_only:
        for tool in args.tools:
            reason = run_tool(tool, args)
            if reason:
                print(f"  {tool}: {reason}", flush=True)
                failures[tool] = reason
    done = [tool for tool in args.tools if tool not in failures and (args.work / tool / "result.json").is_file()]
    records = score_all(args, done)
    text = report(args, records, failures, sha)
    (args.work / "table.md").write_text(text + "\n", encoding="utf-8")
    (args.work / "summary.json").write_text(json.dumps({"records": records, "failures": failures}, indent=1))
    print("\n" + text)
    # a tool that cannot be installed is a row of the table; one that crashed is an error
    return 1 if any(reason.startswith("failed") for reason in failures.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
