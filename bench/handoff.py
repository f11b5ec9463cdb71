#!/usr/bin/env python3
"""Handoff benchmark: rlock against flock(1) on a local file, in the same invocation.

N contenders take turns on one lock, each running a tiny critical section that appends a start
and an end timestamp (bash's $EPOCHREALTIME, no extra process) to a shared log. A handoff is the
time from one holder's end stamp to the next holder's start stamp: lock release, wake-up,
acquisition and the start of the next command, for both tools alike.

Prints, per run: turns, handoffs per second, handoff median and p99, and for rlock the Redis
commands per handoff (those clients sent, and all executions including those inside scripts).
Then the ratio of rlock's median handoff to flock's. Runs alternate tools to spread out noise.

Usage: python3 bench/handoff.py [--contenders 8,32] [--rounds 3]
Needs: redis-server, flock, bash, cargo. Starts its own redis-server on a free loopback port.
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRITICAL = 'echo "S $EPOCHREALTIME" >> "$LOG"; echo "E $EPOCHREALTIME" >> "$LOG"'
# Commands rlock's Lua scripts run inside Redis; everything else in commandstats came from clients.
SCRIPT_INNER = {
    "type", "get", "set", "incr", "del", "hset", "hget", "hmget", "hgetall", "pexpire", "pttl",
    "exists", "zrangebyscore", "zrem", "zrange", "zadd", "zscore", "zrank", "zcard", "zcount",
    "rpush", "llen", "time", "rename",
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port), *args], check=True, capture_output=True,
                          text=True, timeout=10).stdout


def command_counts(port):
    client = executed = 0
    for line in redis_cli(port, "INFO", "commandstats").splitlines():
        if not line.startswith("cmdstat_"):
            continue
        name = line.split(":")[0][len("cmdstat_"):]
        calls = int(line.split("calls=")[1].split(",")[0])
        if name.startswith("config") or name.startswith("info"):
            continue
        executed += calls
        if name not in SCRIPT_INNER:
            client += calls
    return client, executed


def run_contenders(tool, contenders, turns, workdir, rlock, port):
    log = os.path.join(workdir, f"{tool}-{contenders}.log")
    if os.path.exists(log):
        os.remove(log)
    if tool == "flock":
        lock = os.path.join(workdir, "flock.lock")
        turn = f'flock "{lock}" bash -c \'{CRITICAL}\''
    else:
        turn = f'"{rlock}" -q run -t 10s bench -- bash -c \'{CRITICAL}\''
    loop = f"for ((i = 0; i < {turns}; i++)); do {turn} || exit 1; done"
    env = dict(os.environ, LOG=log, RLOCK_REDIS=f"redis://127.0.0.1:{port}")
    if tool == "rlock":
        redis_cli(port, "CONFIG", "RESETSTAT")
    procs = [subprocess.Popen(["bash", "-c", loop], env=env) for _ in range(contenders)]
    deadline = time.monotonic() + 600
    for proc in procs:
        if proc.wait(timeout=max(1, deadline - time.monotonic())) != 0:
            sys.exit(f"a {tool} contender failed")
    counts = command_counts(port) if tool == "rlock" else None
    with open(log) as f:
        stamps = [(kind, float(value)) for kind, value in (line.split() for line in f)]
    stamps.sort(key=lambda stamp: stamp[1])
    # Turns must not overlap: S E S E ... in time order.
    kinds = "".join(kind for kind, _ in stamps)
    if kinds != "SE" * (contenders * turns):
        sys.exit(f"{tool}: critical sections overlapped or went missing")
    handoffs = [stamps[i + 1][1] - stamps[i][1] for i in range(1, len(stamps) - 1, 2)]
    span = stamps[-1][1] - stamps[0][1]
    return handoffs, span, counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contenders", default="8,32")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--handoffs", type=int, default=240, help="about this many turns per run")
    args = parser.parse_args()
    for tool in ("redis-server", "redis-cli", "flock", "bash", "cargo"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is needed on PATH")
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    rlock = os.path.join(ROOT, "target", "release", "rlock")

    with tempfile.TemporaryDirectory() as workdir:
        port = free_port()
        server = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", workdir],
            stdout=subprocess.DEVNULL)
        try:
            for _ in range(200):
                try:
                    redis_cli(port, "PING")
                    break
                except subprocess.CalledProcessError:
                    time.sleep(0.05)
            print(f"{'contenders':>10} {'tool':>5} {'turns':>5} {'handoffs/s':>10} "
                  f"{'median ms':>9} {'p99 ms':>7} {'client cmds/handoff':>19} {'executed/handoff':>16}")
            for contenders in (int(n) for n in args.contenders.split(",")):
                turns = max(2, args.handoffs // contenders)
                medians = {"flock": [], "rlock": []}
                # Warm-up, not reported: first runs pay for cold caches and Redis loading scripts.
                for tool in ("flock", "rlock"):
                    run_contenders(tool, contenders, 3, workdir, rlock, port)
                for _ in range(args.rounds):
                    for tool in ("flock", "rlock"):
                        handoffs, span, counts = run_contenders(tool, contenders, turns, workdir, rlock, port)
                        handoffs_ms = sorted(h * 1000 for h in handoffs)
                        median = statistics.median(handoffs_ms)
                        p99 = handoffs_ms[min(len(handoffs_ms) - 1, int(len(handoffs_ms) * 0.99))]
                        medians[tool].append(median)
                        cmds = ("-", "-") if counts is None else (
                            f"{counts[0] / len(handoffs):.1f}", f"{counts[1] / len(handoffs):.1f}")
                        print(f"{contenders:>10} {tool:>5} {contenders * turns:>5} "
                              f"{len(handoffs) / span:>10.0f} {median:>9.2f} {p99:>7.2f} "
                              f"{cmds[0]:>19} {cmds[1]:>16}", flush=True)
                ratio = statistics.median(medians["rlock"]) / statistics.median(medians["flock"])
                print(f"{contenders:>10} ratio of median handoffs, rlock / flock: {ratio:.2f} (target <= 1.30)")
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
