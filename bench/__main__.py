"""Run every benchmark module under bench/, or the ones named: `python -m bench [name ...]`."""

import importlib
import pkgutil
import sys
import time
from pathlib import Path

from bench.environment import bench_environment_defaults


def benchmark_names() -> list[str]:
    here = Path(__file__).parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))


def main(argv: list[str]) -> int:
    bench_environment_defaults()
    names = argv or benchmark_names()
    if not names:
        print("No benchmarks yet.")
        return 0
    for name in names:
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        importlib.import_module(f"bench.{name}").main()
        print(f"== {name} done in {time.perf_counter() - started:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
