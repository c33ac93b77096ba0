"""Compare the JSON of ``onnxstat profile`` between a git revision and the work tree.

    python tests/json_identity.py REV          # e.g. main, HEAD~3, a commit hash

A restructuring must not change what any model reports.  This script checks out REV
into a temporary git worktree, then profiles with both checkouts (each on PYTHONPATH,
in its own process) every bundled model (``sample_models/*.onnx``) and three models of
the test zoo built here (AlexNet, ResNet-50 and a 2-layer decoder with its weights
declared as missing external data), with ``--format json``, and compares the texts
byte for byte.  The dims of a model are the first set REV accepts, from a short list.
Exit 0 when every output is identical, 1 when one differs (its first lines of
``diff`` are printed), 2 on a usage error.  Not a test: it needs git and takes a minute.
"""

from __future__ import annotations

import argparse
import difflib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: dims tried in order; the first set the old checkout accepts is used for both
DIM_SETS = (
    [],
    ["--dim", "batch=1"],
    ["--dim", "batch=1", "--dim", "seq=16"],
    ["--dim", "batch=1", "--dim", "seq=16", "--dim", "past_seq=8"],
    ["--dim", "batch_size=1", "--dim", "sequence_length=4", "--dim", "past_sequence_length=5",
     "--dim", "total_sequence_length=9"],
)


def profile(checkout: Path, model: Path, dims: list[str]) -> tuple[int, str]:
    env = dict(os.environ, PYTHONPATH=str(checkout))
    p = subprocess.run([sys.executable, "-m", "onnxstat", "profile", str(model), "--format", "json", *dims],
                       cwd=checkout, env=env, capture_output=True, text=True)
    return p.returncode, p.stdout if p.returncode == 0 else p.stderr


def zoo_models(out: Path) -> list[Path]:
    sys.path.insert(0, str(ROOT / "tests"))
    import onnx
    import zoo

    built = {
        "zoo_alexnet.onnx": zoo.alexnet(),
        "zoo_resnet50.onnx": zoo.resnet50(),
        "zoo_decoder.onnx": zoo.transformer_decoder(2, 64, 4, 100, intermediate=128),
    }
    paths = []
    for name, m in built.items():
        path = out / name
        onnx.save(m, str(path))  # the decoder's weights are declared as external data that is not there
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("rev", help="the git revision to compare the work tree with")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        made = subprocess.run(["git", "worktree", "add", "--detach", str(old), args.rev], cwd=ROOT,
                              capture_output=True, text=True)
        if made.returncode:
            print(f"json_identity: cannot check out {args.rev!r}: {made.stderr.strip()}", file=sys.stderr)
            return 2
        try:
            models = sorted((ROOT / "sample_models").glob("*.onnx")) + zoo_models(Path(tmp))
            differ = 0
            for model in models:
                for dims in DIM_SETS:
                    rc_old, before = profile(old, model, dims)
                    if rc_old == 0:
                        break
                rc_new, after = profile(ROOT, model, dims)
                if (rc_old, before) == (rc_new, after):
                    print(f"same  {model.name} {' '.join(dims)} ({len(after)} characters, exit {rc_new})")
                    continue
                differ += 1
                print(f"DIFF  {model.name} {' '.join(dims)} (exit {rc_old} -> {rc_new})")
                for line in list(difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm=""))[:8]:
                    print("      " + line[:200])
            print(f"{len(models) - differ} of {len(models)} models identical")
            return 1 if differ else 0
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, capture_output=True)


if __name__ == "__main__":
    sys.exit(main())
