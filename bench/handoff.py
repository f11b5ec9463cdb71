#!/usr/bin/env python3
"""Handoff benchmark: rlock against flock(1) on a local file, in the same invocation.

N contenders take turns on one lock, each running a tiny critical section that appends a start
and an end timestamp (bash's $EPOCHREALTIME, no extra process) to a shared log. A handoff is the
time from one holder's end stamp to the next holder's start stamp: lock release, wake-up,
acquisition and the start of the next command, for both tools alike.

Prints, per run: turns, handoffs per second, handoff median and p99, and for rlock the Redis
commands per handoff (those clients sent, and all executions including those inside scripts).
Then the ratio of rlock's median handoff to flock's. Runs alternate tools to spread out noise.

With --limit N (a comma-separated list, e.g. --limit 4 or --limit 2,4), each round also runs a
semaphore of N slots, every contender taking it in turn as above:

- rlock/N: `rlock -q run --limit N -t 10s bench-limit -- bash -c CRITICAL`.
- flock/N, the reference: N lock files; contender c always waits for slot c mod N with a plain
  blocking `flock`, so each turn costs one flock process, as in the exclusive run. It is fair when
  the contender count is a multiple of N (every slot then has as many contenders); it never moves
  a waiter to another free slot, which rlock's one queue does. (Trying the other slots first with
  `flock -n` was measured and dropped: on a 2-core machine the extra processes cost flock about a
  third of its throughput, which would flatter rlock.)

In this mode each contender also stamps its arrival (A, just before it starts the tool) and the
log is read in time order. The first N start stamps fill empty slots. After that, the k-th end
stamp frees the slot the (N+k)-th start stamp takes: each start is matched, first come first
served, to the earliest end stamp not yet matched. (With at most N inside at once, that end
stamp always precedes its start; with N = 1 it is the holder just before.) The start is a
handoff if its contender had arrived by then: the handoff is the time from that end stamp to the
start stamp, as above. If it arrived later, the slot was idle and nobody waited for it: that turn
is a walk-in, not a handoff, and counts only in the walk-in share (of the turns after the first
N). With few contenders per slot many turns are walk-ins, and then throughput says more than the
handoff does.

Each row then reports turns per second (turns / time from the first start stamp to the last end
stamp), the walk-in share, the most holders inside at once seen in the log (it must never exceed
the run's limit, 1 for the exclusive runs: the script stops with an error if it does; the section
is so short that it rarely sees more than 2 or 3 of 4), and Redis commands per turn. After the rows, per contender count and N, it prints the ratios
rlock/N / flock/N of the median handoff and of turns per second (medians over the rounds), and
what the semaphore gains over the exclusive lock in turns per second, for each tool. Compare
ratios from one invocation, not figures across invocations: the machine is shared and noisy.

--work MS puts that much sleep (an external `sleep`, the same for every tool) inside each
critical section. With the default 0 the sections are so short that, on a small machine, the
semaphore runs measure mostly the CPU each turn's processes take; with some work, slots stay
taken and waiters queue for them, which is what a semaphore is for.

Usage: python3 bench/handoff.py [--contenders 8,32] [--rounds 3] [--limit 4] [--work MS]
Needs: redis-server, flock, bash, cargo. Starts its own redis-server on a free loopback port.
"""

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def critical(work_ms):
    """The critical section: a start and an end stamp, with `work_ms` of sleep between them.

    $CONTENDER tags each stamp with its contender so the log check can follow every holder.
    """
    work = f"sleep {work_ms / 1000}; " if work_ms else ""
    return f'echo "S $CONTENDER $EPOCHREALTIME" >> "$LOG"; {work}echo "E $CONTENDER $EPOCHREALTIME" >> "$LOG"'


# Commands rlock's Lua scripts run inside Redis; everything else in commandstats came from clients.
SCRIPT_INNER = {
    "type", "get", "set", "incr", "del", "hset", "hget", "hmget", "hgetall", "pexpire", "pttl",
    "exists", "zrangebyscore", "zrem", "zrange", "zadd", "zscore", "zrank", "zcard", "zcount",
    "rpush", "llen", "time", "rename",
}
RUN_SECONDS = 600  # no run may take longer; its contenders are stopped and the script fails


def stop_group(proc, grace=5):
    """Stop a process we started in its own session, and everything in its group, by its pid:
    SIGTERM, then SIGKILL if it has not ended within `grace` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass


def stop_redis(server):
    """Stop a redis-server we started, by its pid."""
    if server.poll() is not None:
        return
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


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


def split_tool(tool):
    """'rlock' -> ('rlock', 1); 'flock/4' -> ('flock', 4): the tool and its number of slots."""
    name, _, slots = tool.partition("/")
    return name, int(slots or 1)


def contender_loop(tool, contender, turns, workdir, rlock, arrivals, work_ms):
    """The bash loop one contender runs: `turns` turns, stopping at the first failure."""
    name, limit = split_tool(tool)
    section = f"bash -c '{critical(work_ms)}'"
    if tool == "flock":
        turn = f'flock "{os.path.join(workdir, "flock.lock")}" {section}'
    elif tool == "rlock":
        turn = f'"{rlock}" -q run -t 10s bench -- {section}'
    elif name == "rlock":
        turn = f'"{rlock}" -q run --limit {limit} -t 10s bench-limit -- {section}'
    else:
        # flock/N (see the docstring): one slot per contender, c mod N.
        turn = f'flock "{os.path.join(workdir, f"flock-{limit}-slot-{contender % limit}")}" {section}'
    # The arrival stamp is a bash builtin writing to the log: no extra process.
    arrive = 'echo "A $CONTENDER $EPOCHREALTIME" >> "$LOG"; ' if arrivals else ""
    return f"for ((i = 0; i < {turns}; i++)); do {arrive}{turn} || exit 1; done"


def read_log(tool, log, limit, expected):
    """Check the log and return (starts, end times, most inside at once), in time order.

    Each start is (time, the contender's arrival time or None). Stop the script if a contender's
    stamps are out of order, if stamps are missing, or if more than `limit` were ever inside at
    once.
    """
    with open(log) as f:
        stamps = [(kind, who, float(value)) for kind, who, value in (line.split() for line in f)]
    # A stable sort: equal times keep log order, which is causal (an end stamp is written before
    # its holder releases, a start stamp after the next one acquires).
    stamps.sort(key=lambda stamp: stamp[2])
    inside, arrived, starts, ends, most = set(), {}, [], [], 0
    for kind, who, value in stamps:
        if (kind == "E") != (who in inside):
            sys.exit(f"{tool}: contender {who}'s stamps are out of order")
        if kind == "A":
            arrived[who] = value
        elif kind == "S":
            inside.add(who)
            starts.append((value, arrived.pop(who, None)))
            most = max(most, len(inside))
            if len(inside) > limit:
                sys.exit(f"{tool}: {len(inside)} critical sections at once with a limit of {limit}")
        else:
            inside.remove(who)
            ends.append(value)
    if len(starts) != expected or inside:
        sys.exit(f"{tool}: critical sections went missing")
    return starts, ends, most


def run_contenders(tool, contenders, turns, workdir, rlock, port, arrivals=False, work_ms=0):
    """Run one measurement: (handoffs, walk-ins, turns per second, span, counts, most inside).

    With arrivals, each turn also stamps its contender's arrival, and turns that found a slot
    idle are walk-ins rather than handoffs (see the docstring).
    """
    _, limit = split_tool(tool)
    log = os.path.join(workdir, f"{tool.replace('/', '-')}-{contenders}.log")
    if os.path.exists(log):
        os.remove(log)
    env = dict(os.environ, LOG=log, RLOCK_REDIS=f"redis://127.0.0.1:{port}")
    if tool.startswith("rlock"):
        redis_cli(port, "CONFIG", "RESETSTAT")
    procs = []
    try:
        for contender in range(contenders):
            # Each contender leads its own process group, so a failure or the deadline can stop
            # it and the rlock or flock it started, and nothing else.
            loop = contender_loop(tool, contender, turns, workdir, rlock, arrivals, work_ms)
            procs.append(subprocess.Popen(["bash", "-c", loop], start_new_session=True,
                                          env=dict(env, CONTENDER=str(contender))))
        deadline = time.monotonic() + RUN_SECONDS
        for proc in procs:
            if proc.wait(timeout=max(1, deadline - time.monotonic())) != 0:
                sys.exit(f"a {tool} contender failed")
    finally:
        # Only contenders not yet reaped: their pid, and so their group, is still ours.
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for proc in procs:
                if proc.poll() is None:
                    try:
                        os.killpg(proc.pid, sig)
                    except ProcessLookupError:
                        pass
            for proc in procs:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
    counts = command_counts(port) if tool.startswith("rlock") else None
    starts, ends, most = read_log(tool, log, limit, contenders * turns)
    # The k-th end stamp frees the slot the (limit + k)-th start stamp takes (see the docstring).
    handoffs, walk_ins = [], 0
    for (start, arrival), end in zip(starts[limit:], ends):
        if start < end:
            sys.exit(f"{tool}: a start stamp came before the end stamp that freed its slot")
        if arrival is not None and arrival > end:
            walk_ins += 1
        else:
            handoffs.append(start - end)
    if not handoffs:
        sys.exit(f"{tool}: no handoffs; give more contenders or --handoffs")
    span = ends[-1] - starts[0][0]
    return handoffs, walk_ins, len(starts) / span, span, counts, most


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contenders", default="8,32")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--handoffs", type=int, default=240, help="about this many turns per run")
    parser.add_argument("--limit", default="",
                        help="also run semaphores of these sizes (comma-separated, e.g. 4)")
    parser.add_argument("--work", type=int, default=0, metavar="MS",
                        help="milliseconds of sleep inside each critical section (default 0)")
    args = parser.parse_args()
    limits = [int(n) for n in args.limit.split(",") if n]
    if any(n < 2 for n in limits):
        sys.exit("--limit: give sizes of 2 or more (the exclusive runs are always done)")
    for tool in ("redis-server", "redis-cli", "flock", "bash", "cargo"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is needed on PATH")
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    rlock = os.path.join(ROOT, "target", "release", "rlock")
    tools = ["flock", "rlock"] + [f"{tool}/{n}" for n in limits for tool in ("flock", "rlock")]

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
            if limits:
                print("tool/N: a semaphore of N slots; walk-ins: turns that found a slot idle "
                      "(not handoffs); max in: most inside at once")
                print(f"{'contenders':>10} {'tool':>7} {'turns':>5} {'turns/s':>7} "
                      f"{'median ms':>9} {'p99 ms':>7} {'walk-ins':>8} {'max in':>6} "
                      f"{'client cmds/turn':>16} {'executed/turn':>13}")
            else:
                print(f"{'contenders':>10} {'tool':>5} {'turns':>5} {'handoffs/s':>10} "
                      f"{'median ms':>9} {'p99 ms':>7} {'client cmds/handoff':>19} {'executed/handoff':>16}")
            for contenders in (int(n) for n in args.contenders.split(",")):
                turns = max(2, args.handoffs // contenders)
                medians = {tool: [] for tool in tools}
                rates = {tool: [] for tool in tools}
                # Warm-up, not reported: first runs pay for cold caches and Redis loading scripts.
                for tool in tools:
                    run_contenders(tool, contenders, 3, workdir, rlock, port, bool(limits), args.work)
                for _ in range(args.rounds):
                    for tool in tools:
                        handoffs, walk_ins, rate, span, counts, most = run_contenders(
                            tool, contenders, turns, workdir, rlock, port, bool(limits), args.work)
                        handoffs_ms = sorted(h * 1000 for h in handoffs)
                        median = statistics.median(handoffs_ms)
                        p99 = handoffs_ms[min(len(handoffs_ms) - 1, int(len(handoffs_ms) * 0.99))]
                        medians[tool].append(median)
                        rates[tool].append(rate)
                        if limits:
                            total = contenders * turns
                            cmds = ("-", "-") if counts is None else (
                                f"{counts[0] / total:.1f}", f"{counts[1] / total:.1f}")
                            share = walk_ins / (total - split_tool(tool)[1])
                            print(f"{contenders:>10} {tool:>7} {total:>5} {rate:>7.0f} "
                                  f"{median:>9.2f} {p99:>7.2f} {share:>8.0%} {most:>6} "
                                  f"{cmds[0]:>16} {cmds[1]:>13}", flush=True)
                        else:
                            cmds = ("-", "-") if counts is None else (
                                f"{counts[0] / len(handoffs):.1f}", f"{counts[1] / len(handoffs):.1f}")
                            print(f"{contenders:>10} {tool:>5} {contenders * turns:>5} "
                                  f"{len(handoffs) / span:>10.0f} {median:>9.2f} {p99:>7.2f} "
                                  f"{cmds[0]:>19} {cmds[1]:>16}", flush=True)
                ratio = statistics.median(medians["rlock"]) / statistics.median(medians["flock"])
                print(f"{contenders:>10} ratio of median handoffs, rlock / flock: {ratio:.2f} (target <= 1.30)")
                for n in limits:
                    rl, fl = f"rlock/{n}", f"flock/{n}"
                    handoff = statistics.median(medians[rl]) / statistics.median(medians[fl])
                    rate = {tool: statistics.median(rates[tool]) for tool in tools}
                    print(f"{contenders:>10} ratios {rl} / {fl}: median handoff {handoff:.2f}, "
                          f"turns/s {rate[rl] / rate[fl]:.2f}; turns/s {rl} / rlock "
                          f"{rate[rl] / rate['rlock']:.2f}, {fl} / flock {rate[fl] / rate['flock']:.2f}")
                    if contenders % n:
                        print(f"{contenders:>10} note: {contenders} contenders on {n} flock slots: "
                              "some slots have more contenders, so flock/N is a weaker reference")
        finally:
            stop_redis(server)


if __name__ == "__main__":
    main()
