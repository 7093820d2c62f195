"""Time the main job, `glassnet train` with no arguments (the embedded MNIST subset), per seed.

Runs the command as a user would (a fresh process each time, so start-up is included) for
seeds 0, 1 and 2 and prints the wall time and the final test accuracy of each. The issue's
bar: at least 95% test accuracy for every seed, within a minute on 2 cores.
Run:  python benchmarks/time_default_job.py
"""

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main(seeds=(0, 1, 2)):
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for seed in seeds:
            out = Path(folder) / f"model-{seed}.npz"
            command = [sys.executable, "-m", "glassnet", "train", "--seed", str(seed), "--out", str(out)]
            start = time.perf_counter()
            result = subprocess.run(command, capture_output=True, text=True, check=True)
            seconds = time.perf_counter() - start
            accuracy = float(re.search(r"test accuracy: ([0-9.]+)", result.stdout).group(1))
            rows.append((seed, seconds, accuracy))
            print(f"glassnet train --seed {seed}: {seconds:5.1f} s, test accuracy {accuracy:.4f}", flush=True)
    print(f"slowest {max(r[1] for r in rows):.1f} s, lowest accuracy {min(r[2] for r in rows):.4f}")


if __name__ == "__main__":
    main()
