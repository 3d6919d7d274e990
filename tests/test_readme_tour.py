"""The README's tour runs as written, from an empty folder, with the installed command.

Each line of the tour's shell block is run in order by ``sh`` in a new
temporary folder (not the checkout), so a tour that only works inside a
checkout, or a command the README promises that does not exist, fails here.
Lines that are expected to be refused (the README says so) may exit 1.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _tour() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## A tour\n.*?```sh\n(.*?)```", text, re.S)
    assert block, "README.md has no tour"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_the_readme_tour_runs_from_an_empty_folder(tmp_path: Path) -> None:
    script = shutil.which("pathways") or str(Path(sys.executable).parent / "pathways")
    assert Path(script).exists(), "the console script is not installed (pip install -e .)"
    env = {**os.environ, "PATH": f"{Path(script).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PATHWAYS_DB", None)
    shell = ""
    for line in _tour():
        command = line.replace("[--public]", "")
        shell += command + "\n"
        done = subprocess.run(["sh", "-c", shell], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=120)
        allowed = (0, 1) if "refused?" in line else (0,)
        assert done.returncode in allowed, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        assert "Traceback" not in done.stderr, command
        shell = "\n".join(x for x in shell.splitlines() if x.startswith(("export ", "DEFS="))) + "\n"
    assert (tmp_path / "bundle" / "verify.py").is_file()
    assert (tmp_path / "trail.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "proposal.yaml").read_text().startswith("# Sample intake data for pilot v1")
