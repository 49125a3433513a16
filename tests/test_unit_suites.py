"""Runs each C unit suite (Criterion) of the normal and the sanitizer build."""
import os
import subprocess

import pytest

from conftest import BUILD, ROOT


def suites():
    out = []
    for tree in (BUILD, ROOT / "build-asan"):
        d = tree / "tests" / "unit"
        if d.is_dir():
            for exe in sorted(d.iterdir()):
                if exe.is_file() and exe.name.startswith("test_") and not exe.suffix:
                    out.append(pytest.param(exe, id=f"{tree.name}/{exe.name}"))
    return out


@pytest.mark.parametrize("exe", suites())
def test_unit_suite(exe):
    env = dict(os.environ, LSAN_OPTIONS=f"suppressions={ROOT / 'tests' / 'lsan.supp'}")
    r = subprocess.run([str(exe), "--jobs=2", "--short-filename"], capture_output=True,
                       text=True, timeout=600, errors="replace", env=env)
    assert r.returncode == 0, f"{exe.name} failed:\n{r.stdout[-4000:]}\n{r.stderr[-8000:]}"
    out = r.stderr + r.stdout
    assert "Synthesis: Tested:" in out, "no Criterion summary"
    # A suite whose every test skipped itself (cr_skip_test: no /dev/kvm)
    # is reported skipped, not passed.
    if "Synthesis: Tested: 0 |" in out:
        pytest.skip(f"{exe.name}: every test skipped itself (no usable /dev/kvm?)")
