"""What every process pays at start: loading the URLconf (web, worker, scheduler and every
`chorus` command do) must not import the heavy libraries only one page or job needs. scipy.stats
alone took ~2.5 s of each start and of each CLI call, numpy 0.5 s, icalendar 0.4 s."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("scipy", "numpy", "icalendar")


def test_loading_the_urlconf_imports_no_heavy_library():
    code = (
        "import os, sys\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'chorus.settings')\n"
        "import django\n"
        "django.setup()\n"
        "import chorus.urls, chorus.api.api\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print(' '.join(heavy[:20]))\n"
        "sys.exit(1 if heavy else 0)\n"
    )
    env = {"PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", "PATH": "/usr/bin:/bin", "HOME": str(ROOT)}
    env["CHORUS_VAR_DIR"] = str(ROOT / "var")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"imported at start: {done.stdout}{done.stderr}"


def test_the_statistics_still_work_when_first_used():
    from chorus.experiments.stats import Arm, posteriors, sample_size_per_variant

    assert 20_000 < sample_size_per_variant(0.02, 0.004) < 22_000
    first, second = posteriors([Arm("A", 20, 1000), Arm("B", 40, 1000)])
    assert second.probability_best > 0.99 > first.probability_best
