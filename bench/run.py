#!/usr/bin/env python3
"""Benchmark sqlalint on a real corpus (see bench/corpus.sh); Python 3 stdlib only.

    python3 bench/run.py [--rounds 5] [--corpus DIR] [--no-build] [--peers]

Builds `cargo build --release` (unless --no-build), runs one untimed warm-up of every
command, then N rounds; in each round every command runs once, in an order rotated per
round, so all commands share the machine's noise. Per command it reports the median wall
time, the median CPU time (user+sys of the child, from os.wait4), the peak RSS over all
rounds, lines/s, and ratios against the parse-only pass of the same binary and against
sqlalint --select ALL. sqlalint runs cold (--no-cache), plus one warm-cache row.

--peers installs the pinned peers of bench/peers.txt (ruff, semgrep, flake8 +
flake8-sqlalchemy) into bench/.peers-venv (once) and times them on the same corpus: ruff
--select ALL and E,F, semgrep with bench/semgrep-sqlalchemy.yml, flake8 with the plugin. A
peer that cannot be installed is listed as not installed. Prints a Markdown table, the
exact commands and PASS/MISS per target, and writes everything to
bench/results/latest.json. Always exits 0 unless a command itself fails: it is a report.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "parse-only"
# The walker's default excludes (src/walk.rs), so line counts match what is linted.
EXCLUDED_DIRS = {
    "__pypackages__", "_build", "buck-out", "build", "dist", "node_modules", "site-packages", "venv",
}


PEERS_VENV = ROOT / "bench" / ".peers-venv"
PEERS_REQUIREMENTS = ROOT / "bench" / "peers.txt"
SEMGREP_RULES = ROOT / "bench" / "semgrep-sqlalchemy.yml"
# The sqlalint run the peers are compared with.
REFERENCE = "--select ALL"


def command_specs(binary, corpus, peers_bin, cache_dir):
    """What to measure. sqlalint runs cold (`--no-cache`) unless named "warm cache"; `peer`
    entries run only with --peers, from the venv the script installs them in."""
    sqlalint = [str(binary), "check", str(corpus), "--isolated"]
    cold = ["--no-cache", "--output-format", "concise", "-o", "/dev/null"]
    jobs = str(os.cpu_count() or 1)
    peer = lambda tool: str(peers_bin / tool)
    return [
        {"name": "default rules", "argv": sqlalint + cold, "ok": {0, 1}},
        {"name": "--select ALL", "argv": sqlalint + ["--select", "ALL"] + cold, "ok": {0, 1}},
        {"name": BASELINE, "argv": sqlalint + ["--parse-only"], "ok": {0}},
        # The cache (filled by the warm-up run): every file unchanged.
        {"name": "--select ALL, warm cache", "ok": {0, 1},
         "argv": sqlalint + ["--select", "ALL", "--cache-dir", str(cache_dir), "--output-format", "concise",
                             "-o", "/dev/null"]},
        # Engine A/B (--ab): the query cursor walking the whole tree instead of the root-kind walk.
        {"name": "default, full query walk", "ab": True, "env": {"SQLALINT_QUERY_WALK": "full"}, "ok": {0, 1},
         "argv": sqlalint + cold},
        # The model index's cost (--ab): the same default run without building the index.
        {"name": "default, no model index", "ab": True, "ok": {0, 1},
         "argv": sqlalint + ["--no-model-index"] + cold},
        # Peers. They do different work; the ratios are context, not targets (bar those in `targets`).
        {"name": "ruff --select ALL", "peer": True, "ok": {0, 1},
         "argv": [peer("ruff"), "check", str(corpus), "--isolated", "--no-cache", "--select", "ALL",
                  "--output-format", "concise", "-o", "/dev/null", "--exit-zero"]},
        {"name": "ruff --select E,F", "peer": True, "ok": {0, 1},
         "argv": [peer("ruff"), "check", str(corpus), "--isolated", "--no-cache", "--select", "E,F",
                  "--output-format", "concise", "-o", "/dev/null", "--exit-zero"]},
        {"name": "semgrep (bench/semgrep-sqlalchemy.yml)", "peer": True, "ok": {0, 1},
         # Every file, as sqlalint: not only those outside the default .semgrepignore (which skips
         # tests/), and large ones too.
         "argv": [peer("semgrep"), "scan", "--metrics=off", "--disable-version-check", "--config",
                  str(SEMGREP_RULES), "--jobs", jobs, "--x-ignore-semgrepignore-files", "--max-target-bytes=0",
                  "--quiet", "-o", "/dev/null", str(corpus)],
         "env": {"SEMGREP_SEND_METRICS": "off", "SEMGREP_ENABLE_VERSION_CHECK": "0"}},
        {"name": "flake8 + flake8-sqlalchemy", "peer": True, "ok": {0, 1},
         "argv": [peer("flake8"), "--jobs", jobs, "--exit-zero", "--output-file", "/dev/null", str(corpus)]},
    ]


def install_peers(venv):
    """Creates `venv` and installs bench/peers.txt into it; returns its bin folder, or None with
    the reason printed (a missing peer is reported in the table, never fatal)."""
    bin_dir = venv / "bin"
    stamp = venv / ".installed"
    wanted = PEERS_REQUIREMENTS.read_text()
    if stamp.exists() and stamp.read_text() == wanted:
        return bin_dir
    print(f"installing peers into {venv} (bench/peers.txt)", file=sys.stderr)
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "-r", str(PEERS_REQUIREMENTS)], check=True)
    except (OSError, subprocess.CalledProcessError) as err:
        print(f"peer install failed ({err}); trying each peer alone", file=sys.stderr)
        for line in wanted.splitlines():
            if line.strip() and not line.startswith("#"):
                subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet",
                                "--disable-pip-version-check", line.strip()], check=False)
        return bin_dir
    stamp.write_text(wanted)
    return bin_dir


# name -> (what, measure(summary by name) -> (value, passed))
def targets(summary, lines):
    default, base = summary.get("default rules"), summary.get(BASELINE)
    if not default or not base:
        return []
    ratio = default["wall_s"] / base["wall_s"]
    checks = [
        ("default wall ≤ 1.25× parse-only", f"{ratio:.2f}×", ratio <= 1.25),
        ("default throughput ≥ 0.8× parse-only", f"{1 / ratio:.2f}×", 1 / ratio >= 0.8),
        ("default ≥ 320k lines/s", f"{default['lines_per_s'] / 1000:.0f}k", default["lines_per_s"] >= 320_000),
        ("peak RSS < 300 MB (every sqlalint run)",
         f"{max(s['peak_rss_mb'] for n, s in summary.items() if not s.get('peer')):.0f} MB",
         all(s["peak_rss_mb"] < 300 for s in summary.values() if not s.get("peer"))),
    ]
    ref, warm = summary.get(REFERENCE), summary.get(f"{REFERENCE}, warm cache")
    if ref and warm:
        share = warm["wall_s"] / ref["wall_s"]
        checks.append(("warm cache ≤ 10% of a cold run", f"{share:.1%}", share <= 0.10))
    if ref:
        checks.append(("--select ALL ≥ 320k lines/s", f"{ref['lines_per_s'] / 1000:.0f}k",
                       ref["lines_per_s"] >= 320_000))
    for peer, times in (("semgrep (bench/semgrep-sqlalchemy.yml)", 7), ("flake8 + flake8-sqlalchemy", 25)):
        if ref and peer in summary:
            speedup = summary[peer]["wall_s"] / ref["wall_s"]
            checks.append((f"--select ALL ≥ {times}× faster than {peer}", f"{speedup:.1f}×", speedup >= times))
    return checks


def corpus_size(corpus):
    files = lines = size = 0
    for folder, dirs, names in os.walk(corpus):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in EXCLUDED_DIRS]
        for name in names:
            if name.endswith((".py", ".pyi")) and not name.startswith("."):
                with open(os.path.join(folder, name), "rb") as fh:
                    data = fh.read()
                files += 1
                size += len(data)
                lines += data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    return files, lines, size


def run_once(spec, cwd):
    """Runs a spec; returns (wall seconds, cpu seconds, max RSS MB, exit code, stderr tail)."""
    env = {**os.environ, **spec.get("env", {})}
    start = time.perf_counter()
    proc = subprocess.Popen(spec["argv"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd)
    # Read stderr before waiting (a full pipe would block the child); small for our commands.
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stderr.close()
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode, err.decode(errors="replace")[-500:]


def git(*args):
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=os.environ.get("SQLALINT_CORPUS", "/tmp/sqla-corpus"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--no-build", action="store_true", help="use the existing release binary")
    ap.add_argument("--binary", default=str(ROOT / "target" / "release" / "sqlalint"))
    ap.add_argument("--peers", action="store_true",
                    help="also run ruff, semgrep and flake8 + flake8-sqlalchemy (installed from bench/peers.txt)")
    ap.add_argument("--peers-venv", default=str(PEERS_VENV), help="where --peers installs the peer tools")
    ap.add_argument("--ab", action="store_true",
                    help="also time the A/B variants: the engine's whole-tree query walk, no model index")
    ap.add_argument("--only", action="append", help="run only the commands with this name (repeatable)")
    ap.add_argument("--json", default=str(ROOT / "bench" / "results" / "latest.json"))
    args = ap.parse_args()

    corpus = Path(args.corpus).resolve()
    if not corpus.is_dir():
        sys.exit(f"corpus {corpus} not found: run bench/corpus.sh first")
    if not args.no_build:
        print("building: cargo build --release", file=sys.stderr)
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    binary = Path(args.binary)
    if not binary.exists():
        sys.exit(f"{binary} not found (build it, or drop --no-build)")

    peers_bin = install_peers(Path(args.peers_venv)) if args.peers else Path(args.peers_venv) / "bin"
    cache_dir = Path(tempfile.mkdtemp(prefix="sqlalint-bench-cache-"))
    specs, missing = [], []
    for spec in command_specs(binary, corpus, peers_bin, cache_dir):
        if args.only and spec["name"] not in args.only and spec["name"] != BASELINE:
            continue
        if spec.get("peer") and not args.peers or spec.get("ab") and not args.ab:
            continue
        if not os.access(spec["argv"][0], os.X_OK):
            missing.append(spec["name"])
            continue
        specs.append(spec)

    files, lines, size = corpus_size(corpus)
    print(f"corpus: {corpus} — {files} files, {lines:,} lines, {size / 1e6:.1f} MB; {args.rounds} rounds",
          file=sys.stderr)
    samples = {spec["name"]: [] for spec in specs}
    failures = {}
    for spec in specs:  # warm-up: page cache, binary
        run_once(spec, corpus)
    for r in range(args.rounds):
        order = specs[r % len(specs):] + specs[:r % len(specs)]
        for spec in order:
            wall, cpu, rss, code, err = run_once(spec, corpus)
            if code not in spec["ok"]:
                failures[spec["name"]] = f"exit {code}: {err.strip()}"
            samples[spec["name"]].append({"wall_s": wall, "cpu_s": cpu, "max_rss_mb": rss, "exit": code})
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

    summary = {}
    for spec in specs:
        s = samples[spec["name"]]
        wall = statistics.median(x["wall_s"] for x in s)
        summary[spec["name"]] = {
            "wall_s": wall,
            "wall_min_s": min(x["wall_s"] for x in s),
            "wall_max_s": max(x["wall_s"] for x in s),
            "cpu_s": statistics.median(x["cpu_s"] for x in s),
            "peak_rss_mb": max(x["max_rss_mb"] for x in s),
            "lines_per_s": lines / wall,
            "peer": bool(spec.get("peer")),
        }
    base, ref = summary.get(BASELINE), summary.get(REFERENCE)
    for s in summary.values():
        s["wall_ratio"] = s["wall_s"] / base["wall_s"] if base else None
        s["cpu_ratio"] = s["cpu_s"] / base["cpu_s"] if base else None
        # How many times longer than sqlalint --select ALL (cold) the command takes.
        s["vs_sqlalint"] = s["wall_s"] / ref["wall_s"] if ref else None
    shutil.rmtree(cache_dir, ignore_errors=True)

    head = git("rev-parse", "--short", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    queries = sorted(p.name for p in (ROOT / "queries").glob("*.scm"))
    try:  # what the measured binary contains (the tree may have moved on since it was built)
        listed = subprocess.run([str(binary), "rules", "--output-format", "json"], capture_output=True, check=True)
        rules = [r["code"] + ("" if r.get("default_enabled") else " (opt-in)") for r in json.loads(listed.stdout)]
    except (OSError, ValueError, subprocess.CalledProcessError):
        rules = []
    threads = os.environ.get("RAYON_NUM_THREADS", f"default ({os.cpu_count()} CPUs)")
    print(f"\nsqlalint @ {head}{' (+ uncommitted changes)' if dirty else ''}")
    print(f"rules in the binary: {', '.join(rules)}; queries/ in the tree: {', '.join(queries)}")
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, RAYON_NUM_THREADS={threads}; "
          f"corpus {files} files, {lines:,} lines; median of {args.rounds} rounds\n")
    print("| command | wall s (median) | wall min–max | CPU s | peak RSS MB | lines/s | wall ÷ parse-only "
          f"| CPU ÷ parse-only | wall ÷ sqlalint {REFERENCE} |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, s in summary.items():
        ratio = f"{s['wall_ratio']:.2f}" if s["wall_ratio"] else "–"
        cpu_ratio = f"{s['cpu_ratio']:.2f}" if s["cpu_ratio"] else "–"
        vs = f"{s['vs_sqlalint']:.2f}" if s["vs_sqlalint"] else "–"
        print(f"| {name} | {s['wall_s']:.3f} | {s['wall_min_s']:.2f}–{s['wall_max_s']:.2f} | {s['cpu_s']:.2f} | "
              f"{s['peak_rss_mb']:.0f} | {s['lines_per_s'] / 1000:,.0f}k | {ratio} | {cpu_ratio} | {vs} |")
    for name in missing:
        print(f"| {name} | not installed | | | | | | | |")
    print()
    print(f"Commands (run from {corpus}):")
    for spec in specs:
        env = "".join(f"{k}={v} " for k, v in spec.get("env", {}).items())
        print(f"  {env}" + " ".join(spec["argv"]))
    checks = targets(summary, lines)
    if checks:
        print("\nTargets:")
        for what, value, passed in checks:
            print(f"  {'PASS' if passed else 'MISS'}  {what}: {value}")
    for name, why in failures.items():
        print(f"\nFAILED: {name}: {why}")

    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "git_head": head, "uncommitted_changes": bool(dirty), "queries": queries, "binary_rules": rules,
        "machine": {"arch": platform.machine(), "cpus": os.cpu_count(), "rayon_num_threads": threads},
        "corpus": {"path": str(corpus), "files": files, "lines": lines, "bytes": size},
        "rounds": args.rounds, "cwd": str(corpus),
        "commands": {s["name"]: {"argv": s["argv"], "env": s.get("env", {})} for s in specs}, "missing": missing,
        "summary": summary, "samples": samples, "failures": failures,
        "targets": [{"target": t, "value": v, "pass": p} for t, v, p in checks],
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }, indent=2) + "\n")
    print(f"\nwrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 2 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
