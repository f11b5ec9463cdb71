#!/usr/bin/env python3
"""Compare rlock, on one Redis server and on a quorum of three, with the alternatives, in one
run: flock(1), a redis-cli loop, redis-py's Lock and python-redis-lock.

Every tool is used the same way, `TOOL KEY -- CMD` (`flock FILE CMD` for flock, whose syntax has
no `--`): wait for the lock KEY, run CMD while holding it, release it, exit with CMD's status.

    flock              flock(1) on a local file: the floor, no network at all.
    redis-cli loop     bench/peers/redis-cli-lock.sh: `SET KEY TOKEN NX PX 30000` through redis-cli,
                       retried after `sleep 0.1` while it fails; CMD; a Lua compare-and-delete
                       through `redis-cli EVAL`. What people write by hand.
    redis-py Lock      bench/peers/redis-py-lock.py: redis.lock.Lock, blocking, library defaults
                       (it polls: SET NX, then sleep 0.1 s) except timeout=30.
    python-redis-lock  bench/peers/python-redis-lock.py: redis_lock.Lock with expire=30 and
                       auto_renewal=True, other settings the library's defaults; a waiter blocks
                       in BLPOP until a release pushes a wake-up.
    rlock              target/release/rlock run KEY -- CMD, default options (ttl 30 s).
    rlock quorum (3)   the same call, with RLOCK_REDIS naming three independent redis-servers
                       (url1,url2,url3): quorum mode, the lock taken when a majority grant it.

Each peer's settings, and why, are in the docstring at the top of its wrapper. The Python peers
run in bench/.venv, which this script creates (`python3 -m venv`, then pip installs the versions
pinned in bench/peers/requirements.txt) when it is missing or holds other versions.

The script builds rlock (`cargo build --release`), starts its own redis-server on a free loopback
port in a temporary folder, which every Redis tool but the quorum uses, and three more for the
quorum (each on a free loopback port, in a folder of its own in the temporary one, no
replication between them); all are stopped by pid at the end, also on failure. It measures, all
in the same invocation:

(f) Footprint. Each tool runs `TOOL KEY -- sleep 2` (all six at once, on different keys, so
    none waits), three times (once with --quick). While CMD runs, that is while the tool holds
    the lock, the tool's own process (flock, the bash wrapper, the Python interpreter, rlock) is
    sampled every 0.1 s in /proc/PID/status: VmHWM (peak resident set), VmRSS and Threads; its
    other descendant processes besides CMD are counted. The table gives the maxima. (rlock's
    other process is its guardian, rlock-guardian, a process of its own.)

(a) Uncontended call. A bash loop times `TOOL KEY -- true` with $EPOCHREALTIME just before and
    just after each call, so a call's wall time includes starting the tool from a shell, as in a
    script. Calls run in batches of 10, the tools taking turns batch by batch (one batch each
    first as a warm-up, not counted), until each tool has --calls calls. Reported: median and
    p99 (the value below which 99% of calls fall), and the ratio of medians to flock's.

(b)-(e) Contention. N contenders (--contenders, 8 and 32) take turns on one lock, each running a
    bash loop that stamps its arrival just before starting the tool, then runs a critical
    section under it:

        echo "A $CONTENDER $EPOCHREALTIME" >> LOG      # arrival (a bash builtin, no process)
        TOOL KEY -- bash -c SECTION

    with about --turns turns in all per run (turns // N per contender). Three kinds of run, on
    a new key each time; the log is read in time order:

    - timed runs, for (b) and (d): SECTION is bench/handoff.py's, a start and an end stamp
      (`echo "S $CONTENDER $EPOCHREALTIME" >> LOG; echo "E ..." >> LOG`). Each round runs every
      tool with every N, the tools in a rotated order each round (--rounds rounds).
    - counting runs, for (c): the same, once per tool and N, half the turns, Redis logging every
      command. They come first and also warm up.
    - read-modify-write runs, for (e): SECTION is: start stamp; `read n < COUNTER`; a 1 ms pause
      (`read -t 0.001` on a FIFO, a builtin); `echo $((n + 1)) > COUNTER`; end stamp. Once per
      tool and N, half the turns.

    A run stops starting turns after its share of the time budget; turns already begun finish.

(b) Handoff: the time from one holder's end stamp to the next holder's start stamp (release,
    wake-up, acquisition, start of the next command), counted when at least one contender was
    waiting (had arrived and not yet started) at that end stamp: as bench/handoff.py measures
    it, leaving out the gaps when nobody was waiting. Reported: median (the median of the timed
    runs' medians), p99 over all of a tool's handoffs, the longest of them (the longest idle
    gap: the longest the lock lay free while someone was waiting for it), handoffs per second
    (handoffs / time from the first start stamp to the last end stamp; median over runs), and
    the ratios of the median to flock's and to rlock's (on one server): the median over rounds
    of (tool's median / flock's, or rlock's, median in the same round).
(c) Redis commands per handoff, from the counting runs. Before each: CONFIG RESETSTAT, SLOWLOG
    RESET, and slowlog-log-slower-than 0 (every command logged) for that run only: logging costs
    Redis time for every command, so the other runs go without it. Executed: all calls in INFO
    commandstats, which counts the commands Lua scripts run inside Redis as well. Client-sent:
    the slowlog entries that carry a client address; Redis logs a command a script runs with
    the address "?:0". (bench/handoff.py tells them apart by name, which works for rlock, whose
    client sends no SET, GET or DEL; the peers send those themselves.) This script's own
    CONFIG, INFO, SLOWLOG and MONITOR commands are left out. For the quorum, both are summed
    over its three servers. Both are divided by the run's handoffs, so they include each turn's
    connection set-up and every poll while waiting.
(d) Order inversions, in the timed runs: pairs of turns (X, Y) where X's contender arrived before
    Y's, yet Y started first. Both were then waiting at once (both arrived before Y started),
    so a first come, first served lock has none. Reported per run: the median and the largest
    count over the rounds, and how many pairs of turns were both waiting at some moment (the
    pairs that could invert). For context, also: the same count leaving out each contender's
    first turn (all contenders start at once, so their first arrivals fall within milliseconds
    of each other while their tools are still starting up), and the largest arrival gap of an
    inverted pair (a lock can only order the waiters it has heard from, and a tool reaches
    Redis some milliseconds after its arrival stamp, more on two busy cores). And, for rlock
    and the quorum only, in their counting runs: the inversions when each turn is placed by the
    moment its rlock first reached Redis instead of by its arrival stamp. A `redis-cli MONITOR`
    records that run (rlock's acquire request names its pid, and the start stamp records the
    pid of the section's parent, which is rlock); for the quorum it watches the first of the
    three servers, and a turn is placed by its rlock's first request to that one.
    (The "widest gap" of the table is the largest arrival gap of an inverted pair, not an idle
    gap of the lock: that is (b)'s longest handoff.)
(e) Lost updates, in the read-modify-write runs: the number of turns minus the counter's final
    value. Any overlap of two critical sections can lose an update. The most critical sections
    inside at once, from the stamps of every run, is reported too.

Targets, shown pass/fail: (a) rlock's median <= 1.6x flock's; (b) rlock's median handoff <= 1.3x
flock's and lower than every peer's, at each N; (d) no inversions for rlock in order of arrival
at the lock, that is of each rlock's first request to Redis (a lock orders the waiters it has
heard from; against the shells' stamps, taken before a tool even starts, flock inverts as
often, so those are shown for context); (e) no lost updates; (f) rlock's peak RSS under 10 MiB.
For the quorum (3 masters), beside single-server rlock and flock: (b) its median handoff at most
2x single-server rlock's (the median over rounds of the per-round ratio), at each N; its longest
idle gap (longest handoff, timed runs) under 20 ms with 8 contenders; (d) no order inversions in
order of arrival at Redis (each rlock's first request to the first server, from MONITOR); (e)
no lost updates, under the same target as rlock's.

The machine is shared and noisy: compare the ratios to flock from one run, not times across
runs. Every loop is bounded in count and in time; one deadline (--budget seconds from the start,
default 540, 90 with --quick) covers the whole run, setup included: the contention runs share
what the earlier phases leave, and the script stops by itself, writing what it measured.

Usage: python3 bench/compare.py [--out bench/results.md]    # the full run, under 10 minutes
       python3 bench/compare.py --quick                      # a smoke run of about a minute
       python3 bench/compare.py --quick --tools 'flock,rlock,rlock quorum (3)' --out /tmp/r.md
--tools runs only the tools named (comma-separated, as in the table above, or with - for
spaces); targets that need a tool left out show –. Without the Python peers, bench/.venv is
neither needed nor made; without the quorum, its three servers are not started.
Needs: python3 (with venv and pip), redis-server, redis-cli 7 or later (for --json), flock, bash,
cargo. No network except the Python package registry, once, to fill bench/.venv.
"""

import argparse
import bisect
import datetime
import json
import os
import platform
import re
import shlex
import signal
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)
from handoff import ROOT, free_port, redis_cli, stop_group, stop_redis  # noqa: E402  (shared)

PEERS = os.path.join(BENCH, "peers")
VENV = os.path.join(BENCH, ".venv")
VENV_PYTHON = os.path.join(VENV, "bin", "python")
REQUIREMENTS = os.path.join(PEERS, "requirements.txt")
RLOCK = os.path.join(ROOT, "target", "release", "rlock")

FLOCK, CLI, REDIS_PY, PRL, RLOCK_TOOL, QUORUM_TOOL = (
    "flock", "redis-cli loop", "redis-py Lock", "python-redis-lock", "rlock", "rlock quorum (3)")
TOOLS = (FLOCK, CLI, REDIS_PY, PRL, RLOCK_TOOL, QUORUM_TOOL)  # every tool, in the report's order
PEER_TOOLS = (CLI, REDIS_PY, PRL)
PYTHON_TOOLS = (REDIS_PY, PRL)  # those that need bench/.venv
RLOCK_TOOLS = (RLOCK_TOOL, QUORUM_TOOL)  # rlock's binary, watched by MONITOR in counting runs
QUORUM_SERVERS = 3

# The critical sections. $LOG, $COUNTER, $FIFO and $CONTENDER come from the contender's
# environment. The start stamp also records $PPID, the tool's pid (the section's parent), to match
# turns to rlock's requests in the counting run. (b)-(d): a start and an end stamp, as in
# bench/handoff.py. (e): start stamp, read-modify-write of the counter with a 1 ms pause (a builtin
# read timing out on a FIFO opened read-write, so it never blocks on open), end stamp.
START = 'echo "S $CONTENDER $EPOCHREALTIME $PPID" >> "$LOG"; '
END = 'echo "E $CONTENDER $EPOCHREALTIME" >> "$LOG"'
HANDOFF_SECTION = START + END
RMW_SECTION = (START + 'read -r n < "$COUNTER"; read -t 0.001 <> "$FIFO"; '
               'echo $((n + 1)) > "$COUNTER"; ' + END)
MONITOR_ACQUIRE = re.compile(r'(\d+\.\d+) \[\d+ [^\]]*\] "EVALSHA" .*"pid" "(\d+)"')
BATCH = 10  # (a): calls per batch before the next tool's turn
SLOWLOG_MAX = 500_000  # slowlog entries kept; a run that fills it has its client count marked ">="
ADMIN = {"config", "info", "slowlog", "ping", "monitor"}  # this script's own, never counted
RESERVE = 10  # seconds of the budget kept for stopping, reporting and cleaning up
GRACE = 30  # seconds a run may take past its share before its contenders are stopped


class Deadline:
    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def left(self):
        return self.end - time.monotonic()


def median(values):
    return statistics.median(values) if values else None


def p99(values):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * 0.99))] if values else None


def step(message):
    print(f"[compare] {message}", file=sys.stderr, flush=True)


# --- setup ------------------------------------------------------------------------------------

def pinned_versions():
    with open(REQUIREMENTS) as f:
        return dict(line.strip().split("==") for line in f if "==" in line)


def ensure_venv(deadline):
    """Create bench/.venv and install the pinned peers' libraries, unless already there."""
    want = pinned_versions()
    probe = ("import importlib.metadata as m, json, sys; "
             "print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))")

    def installed():
        if not os.path.exists(VENV_PYTHON):
            return None
        out = subprocess.run([VENV_PYTHON, "-c", probe, *want], capture_output=True, text=True,
                             timeout=60)
        return json.loads(out.stdout) if out.returncode == 0 else None

    if installed() != want:
        step(f"creating {os.path.relpath(VENV, ROOT)} and installing {', '.join(want)}")
        if not os.path.exists(VENV_PYTHON):
            subprocess.run([sys.executable, "-m", "venv", VENV], check=True, timeout=120)
        subprocess.run([VENV_PYTHON, "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", "-r", REQUIREMENTS],
                       check=True, timeout=max(30, deadline.left() - 120))
        if installed() != want:
            sys.exit(f"{VENV}: could not install {want}")
    return want


def start_redis(workdir, name, servers):
    """Start a redis-server on a free loopback port, in a folder of its own under `workdir`.

    It is appended to `servers` as soon as it runs, so that the caller stops it whatever happens
    next (stop_redis); returns its port once it answers.
    """
    folder = os.path.join(workdir, name)
    os.makedirs(folder, exist_ok=True)
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", folder, "--slowlog-log-slower-than", "-1",
         "--slowlog-max-len", str(SLOWLOG_MAX)],
        stdout=subprocess.DEVNULL, start_new_session=True)
    servers.append(server)
    for _ in range(100):
        try:
            redis_cli(port, "PING")
            return port
        except subprocess.CalledProcessError:
            if server.poll() is not None:
                sys.exit(f"redis-server ({name}) did not start")
            time.sleep(0.05)
    sys.exit(f"redis-server ({name}) did not answer")


# --- the tools --------------------------------------------------------------------------------

class Tools:
    """The selected tools (`names`, in TOOLS' order), how to call each, and its Redis servers.

    Every tool but flock and the quorum uses the one server on `port`; the quorum tool's rlock
    gets the URLs of its own `quorum_ports` in RLOCK_REDIS, comma-separated.
    """

    def __init__(self, workdir, names, port, quorum_ports):
        self.workdir = workdir
        self.names = names
        self.port = port
        self.quorum_ports = quorum_ports
        url = f"redis://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RLOCK_", "REDIS_URL"))}
        self.single_env = dict(env, RLOCK_REDIS=url, REDIS_URL=url, LC_NUMERIC="C")
        urls = ",".join(f"redis://127.0.0.1:{p}" for p in quorum_ports)
        self.quorum_env = dict(env, RLOCK_REDIS=urls, LC_NUMERIC="C")

    def env(self, tool):
        return self.quorum_env if tool == QUORUM_TOOL else self.single_env

    def ports(self, tool):
        """The Redis servers `tool` talks to (none for flock)."""
        if tool == FLOCK:
            return []
        return list(self.quorum_ports) if tool == QUORUM_TOOL else [self.port]

    def argv(self, tool, key, command):
        if tool == FLOCK:
            return ["flock", os.path.join(self.workdir, f"{key}.flock"), *command]
        if tool == CLI:
            return [os.path.join(PEERS, "redis-cli-lock.sh"), key, "--", *command]
        if tool == REDIS_PY:
            return [VENV_PYTHON, os.path.join(PEERS, "redis-py-lock.py"), key, "--", *command]
        if tool == PRL:
            return [VENV_PYTHON, os.path.join(PEERS, "python-redis-lock.py"), key, "--", *command]
        return [RLOCK, "run", key, "--", *command]  # rlock, and rlock on the quorum

    def stderr_path(self, name):
        return os.path.join(self.workdir, f"{name}.stderr")


def last_line(path):
    """The last line a run's processes wrote to their stderr file, to quote in the report."""
    try:
        with open(path, errors="replace") as f:
            lines = [line.strip() for line in f if line.strip()]
    except OSError:
        return "no message"
    return lines[-1][:200] if lines else "no message"


def slug(tool):
    return tool.replace(" ", "-")


# --- (f) footprint ----------------------------------------------------------------------------

def proc_status(pid):
    fields = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                name, _, value = line.partition(":")
                fields[name] = value.strip()
    except OSError:
        return None
    return fields


def process_table():
    """{pid: (ppid, argv)} of every process we may read."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")[:-1]
        except (OSError, IndexError, ValueError):
            continue
        table[int(entry)] = (ppid, argv)
    return table


def descendants(table, pid):
    children = {}
    for child, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(child)
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kib(value):
    return int(value.split()[0])


def measure_footprint(tools, deadline, repeats=3):
    result = {tool: {"hwm": 0, "rss": 0, "threads": 0, "others": 0, "samples": 0}
              for tool in tools.names}
    command = ["sleep", "2"]
    for _ in range(repeats):
        if deadline.left() < RESERVE + 30:
            break
        procs = {}
        try:
            for i, tool in enumerate(tools.names):
                with open(tools.stderr_path("footprint"), "ab") as errors:
                    procs[tool] = subprocess.Popen(
                        tools.argv(tool, f"cmp-footprint-{i}", command), env=tools.env(tool),
                        stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True)
            stop_at = time.monotonic() + 15
            while time.monotonic() < stop_at and any(p.poll() is None for p in procs.values()):
                table = process_table()
                for tool, proc in procs.items():
                    below = descendants(table, proc.pid)
                    held = [pid for pid in below if table[pid][1] == [b"sleep", b"2"]]
                    status = proc_status(proc.pid)
                    if not held or status is None:
                        continue  # not holding the lock (yet, or any more)
                    r = result[tool]
                    r["hwm"] = max(r["hwm"], kib(status["VmHWM"]))
                    r["rss"] = max(r["rss"], kib(status["VmRSS"]))
                    r["threads"] = max(r["threads"], int(status["Threads"]))
                    r["others"] = max(r["others"], len([pid for pid in below if pid not in held]))
                    r["samples"] += 1
                time.sleep(0.1)
        finally:
            for proc in procs.values():
                stop_group(proc)
    return result


# --- (a) uncontended calls --------------------------------------------------------------------

def timed_batch(tools, tool, calls):
    """Wall times in ms of `calls` consecutive `TOOL KEY -- true` calls, timed by bash."""
    call = shlex.join(tools.argv(tool, f"cmp-uncontended-{slug(tool)}", ["true"]))
    loop = (f"for ((i = 0; i < {calls}; i++)); do t0=$EPOCHREALTIME; {call} || exit 1; "
            f't1=$EPOCHREALTIME; echo "$t0 $t1"; done')
    proc = subprocess.Popen(["bash", "-c", loop], env=tools.env(tool), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        stop_group(proc)
    if proc.returncode != 0:
        said = err.strip().splitlines()[-1:] or ["no message"]
        raise RuntimeError(f"{tool}: an uncontended call failed: {said[0]}")
    return [(float(t1) - float(t0)) * 1000
            for t0, t1 in (line.split() for line in out.splitlines())]


def measure_uncontended(tools, calls, until):
    """(a): {tool: [ms, ...]}, batches rotating over the tools; stops early at `until`."""
    names = tools.names
    times, failed = {tool: [] for tool in names}, {}

    def batch(tool, calls):
        try:
            return timed_batch(tools, tool, calls)
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            failed[tool] = str(error)
            return []

    for tool in names:  # warm-up: page cache, .pyc files, scripts loaded into Redis
        batch(tool, 2)
    rotation = 0
    while time.monotonic() < until and any(
            len(times[tool]) < calls for tool in names if tool not in failed):
        order = names[rotation % len(names):] + names[:rotation % len(names)]
        rotation += 1
        for tool in order:
            want = min(BATCH, calls - len(times[tool]))
            if want > 0 and tool not in failed and time.monotonic() < until:
                times[tool] += batch(tool, want)
    return times, failed


# --- (b)-(e) contention -----------------------------------------------------------------------

def reset_counts(ports, log_commands):
    """Zero the counters; log every command to the slowlog for a counting run, none otherwise."""
    for port in ports:
        redis_cli(port, "CONFIG", "SET", "slowlog-log-slower-than", "0" if log_commands else "-1")
        redis_cli(port, "CONFIG", "RESETSTAT")
        redis_cli(port, "SLOWLOG", "RESET")


def read_counts(ports):
    """(executed, client-sent, a slowlog full?) since reset_counts, summed over `ports`, leaving
    out our own commands."""
    executed = client = 0
    full = False
    for port in ports:
        for line in redis_cli(port, "INFO", "commandstats").splitlines():
            if line.startswith("cmdstat_"):
                name = line.split(":")[0][len("cmdstat_"):]
                if name.split("|")[0] not in ADMIN:
                    executed += int(line.split("calls=")[1].split(",")[0])
        entries = json.loads(redis_cli(port, "--json", "-2", "SLOWLOG", "GET", "-1"))
        client += sum(1 for entry in entries
                      if entry[4] != "?:0" and entry[3] and entry[3][0].lower() not in ADMIN)
        full = full or len(entries) >= SLOWLOG_MAX
    return executed, client, full


def read_log(log):
    """Turns in start order, the most critical sections inside at once, unfinished turns.

    A turn is (arrival, start, end, whether it is its contender's first, the tool's pid). A start
    without an end (a contender stopped inside) is left out and counted as unfinished.
    """
    with open(log) as f:
        stamps = [(kind, who, float(value), rest)
                  for kind, who, value, *rest in (line.split() for line in f)]
    stamps.sort(key=lambda stamp: stamp[2])  # stable: equal times keep the (causal) log order
    arrived, inside, turns, most, seen = {}, {}, [], 0, set()
    for kind, who, value, rest in stamps:
        if kind == "A":
            arrived[who] = value
        elif kind == "S":
            inside[who] = (arrived.pop(who), value, rest[0] if rest else None)
            most = max(most, len(inside))
        else:
            arrival, start, pid = inside.pop(who)
            turns.append((arrival, start, value, who not in seen, pid))
            seen.add(who)
    turns.sort(key=lambda turn: turn[1])
    return turns, most, len(inside)


def inversions(turns):
    """Pairs of turns where the one that started first arrived later; the widest arrival gap."""
    count, arrivals, widest = 0, [], 0.0
    for arrival, *_ in turns:
        count += len(arrivals) - bisect.bisect_right(arrivals, arrival)
        if arrivals:
            widest = max(widest, arrivals[-1] - arrival)
        bisect.insort(arrivals, arrival)
    return count, widest


def apart_inversions(spans):
    """Pairs of turns, given in start order as (first, last) moments their tool's first request
    reached a server, where the one that started first sent its first request only after the
    other's had reached every server."""
    count, firsts = 0, []
    for first, last in spans:
        count += len(firsts) - bisect.bisect_right(firsts, last)
        bisect.insort(firsts, first)
    return count


def analyse(turns):
    """Handoffs (s) and the pairs of turns that could invert, from turns in start order."""
    # The earliest arrival among turns k, k+1, ...: someone was waiting at time t before turn k
    # if that arrival is before t.
    first_waiting = [float("inf")] * (len(turns) + 1)
    for k in range(len(turns) - 1, -1, -1):
        first_waiting[k] = min(turns[k][0], first_waiting[k + 1])
    handoffs = []
    for k in range(1, len(turns)):
        previous_end, start = turns[k - 1][2], turns[k][1]
        if first_waiting[k] < previous_end <= start:
            handoffs.append(start - previous_end)
    # Pairs both waiting at once: X started before Y and Y arrived before X started.
    starts = [turn[1] for turn in turns]
    waiting_pairs = sum(k - bisect.bisect_right(starts, turn[0], 0, k)
                        for k, turn in enumerate(turns))
    return handoffs, waiting_pairs


COUNT, TIMED, RMW = "counting run", "timed run", "read-modify-write run"


def contended_run(tools, run, total_turns, seconds, hard_until):
    """One run of (b)-(e) as planned in `run` (tool, contenders, kind, round); fills in figures.

    Sets run["error"] if the run went wrong.
    """
    tool, contenders, kind = run["tool"], run["contenders"], run["kind"]
    name = f"{slug(tool)}-{contenders}-{run['index']}"
    log = os.path.join(tools.workdir, f"{name}.log")
    counter = os.path.join(tools.workdir, f"{name}.counter")
    fifo = os.path.join(tools.workdir, "pause.fifo")
    if not os.path.exists(fifo):
        os.mkfifo(fifo)
    with open(counter, "w") as f:
        f.write("0\n")
    per_contender = max(2, total_turns // contenders)
    section = RMW_SECTION if kind == RMW else HANDOFF_SECTION
    # A new key for every run, so that nothing a stopped run left behind can get in the way.
    turn = shlex.join(tools.argv(tool, f"cmp-{name}", ["bash", "-c", section]))
    loop = (f"for ((i = 0; i < {per_contender}; i++)); do "
            f"(( ${{EPOCHREALTIME/./}} < STOP_US )) || break; "
            f'echo "A $CONTENDER $EPOCHREALTIME" >> "$LOG"; {turn} || exit 1; done')
    stop_us = int((time.time() + seconds) * 1e6)
    env = dict(tools.env(tool), LOG=log, COUNTER=counter, FIFO=fifo, STOP_US=str(stop_us))
    ports = tools.ports(tool)
    if ports:
        reset_counts(ports, kind == COUNT)
    procs, failed, stopped, monitor = [], 0, False, None
    errors = open(tools.stderr_path(name), "ab")
    monitor_log = os.path.join(tools.workdir, f"{name}.monitor")
    try:
        if tool in RLOCK_TOOLS and kind == COUNT:
            # On every server (the quorum's three): each rlock's first request to each.
            monitor = [start_monitor(port, f"{monitor_log}.{port}") for port in ports]
        for contender in range(contenders):
            # Each contender leads its own process group, so a failure or the deadline can stop
            # it and the tool it started, and nothing else.
            procs.append(subprocess.Popen(["bash", "-c", loop], start_new_session=True,
                                          env=dict(env, CONTENDER=str(contender)),
                                          stdout=subprocess.DEVNULL, stderr=errors))
        for proc in procs:
            try:
                if proc.wait(timeout=max(0.1, hard_until - time.monotonic())) != 0:
                    failed += 1
            except subprocess.TimeoutExpired:
                stopped = True
    finally:
        for proc in procs:  # only those not reaped: their pid, and so their group, is still ours
            stop_group(proc)
        for proc in monitor or []:
            stop_group(proc)
        errors.close()
    if ports and kind == COUNT:
        run["executed"], run["client"], run["slowlog_full"] = read_counts(ports)
    turns, most, unfinished = read_log(log)
    handoffs, waiting_pairs = analyse(turns)
    inverted, widest = inversions(turns)
    later, _ = inversions([turn for turn in turns if not turn[3]])
    run.update(turns=len(turns), most=most, handoffs=handoffs, inversions=inverted,
               waiting_pairs=waiting_pairs, widest=widest, later_inversions=later, lost=None,
               error=None)
    if monitor:
        # Each turn's rlock at its first request, in start order: did Redis see them in order?
        contacts = [first_contacts(f"{monitor_log}.{port}") for port in ports]
        contact = contacts[0]
        matched = [(contact[turn[4]],) + turn[1:] for turn in turns if turn[4] in contact]
        run["contact"] = (inversions(matched)[0], len(matched))
        # The same, counting only the pairs whose first tries did not overlap: the later one's
        # first request reached its first server after the earlier one's had reached every
        # server (with one server, the same count).
        spans = [(min(c[turn[4]] for c in contacts), max(c[turn[4]] for c in contacts))
                 for turn in turns if all(turn[4] in c for c in contacts)]
        run["contact_apart"] = (apart_inversions(spans), len(spans))
    if kind == RMW:
        with open(counter) as f:
            run["lost"] = len(turns) + unfinished - int(f.read().strip() or 0)
    if turns and handoffs:
        span = max(turn[2] for turn in turns) - turns[0][1]
        run["rate"] = len(handoffs) / span
    if stopped:
        run["error"] = "stopped at the deadline"
    elif failed:
        run["error"] = f"{failed} contender(s) failed: {last_line(tools.stderr_path(name))}"
    elif not handoffs:
        run["error"] = "no handoffs"
    return run


def start_monitor(port, path):
    """redis-cli MONITOR into `path`, in its own session; returns once it is listening."""
    out = open(path, "w")
    proc = subprocess.Popen(["redis-cli", "-p", str(port), "MONITOR"], stdout=out,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    out.close()
    for _ in range(100):  # it prints OK when Redis has taken it on
        if os.path.getsize(path) or proc.poll() is not None:
            break
        time.sleep(0.02)
    return proc


def first_contacts(path):
    """{pid: time of that rlock's first acquire request}, from MONITOR's output.

    rlock's acquire script call carries its holder metadata, "pid" PID among it; Redis time
    stamps each command as it runs it (the same clock as $EPOCHREALTIME on this machine).
    """
    first = {}
    with open(path, errors="replace") as f:
        for line in f:
            match = MONITOR_ACQUIRE.match(line)
            if match:
                first.setdefault(match.group(2), float(match.group(1)))
    return first


def measure_contended(tools, args, deadline, progress):
    """Run the counting, read-modify-write and timed runs in turn, as the budget allows."""
    names = tools.names
    plan = [(COUNT, None, n, tool) for n in args.contenders for tool in names if tool != FLOCK]
    plan += [(RMW, None, n, tool) for n in args.contenders for tool in names]
    plan += [(TIMED, r, n, tool) for r in range(args.rounds) for n in args.contenders
             for tool in names[r % len(names):] + names[:r % len(names)]]
    runs = []
    for index, (kind, r, n, tool) in enumerate(plan):
        # This run's share of what is left; runs that finish early leave more for later ones.
        left = deadline.left() - RESERVE
        if left < 5:
            progress(f"deadline: {len(plan) - index} contention runs not done")
            break
        share = min(args.run_seconds, left / (len(plan) - index))
        hard_until = time.monotonic() + min(share + GRACE, left)
        turns = args.turns if kind == TIMED else args.turns // 2
        run = {"index": index, "kind": kind, "round": r, "contenders": n, "tool": tool}
        runs.append(contended_run(tools, run, turns, share, hard_until))
        progress(f"{run_name(run)}, {n} contenders, {tool}: {run['turns']} turns, "
                 f"median handoff {median(run['handoffs']) * 1000 if run['handoffs'] else 0:.2f}"
                 f" ms, inversions {run['inversions']}"
                 + ("" if run["lost"] is None else f", lost updates {run['lost']}")
                 + (f" [{run['error']}]" if run["error"] else ""))
    return runs, len(plan)


# --- the report -------------------------------------------------------------------------------

def run_name(run):
    return run["kind"] if run["kind"] != TIMED else f"round {run['round'] + 1}"


def fmt(value, digits=2, suffix=""):
    return "–" if value is None else f"{value:.{digits}f}{suffix}"


def verdict(ok):
    return "–" if ok is None else ("pass" if ok else "**FAIL**")


def report(meta, footprint, uncontended, runs, args):
    names = args.tools
    head, out = [], []
    w = head.append
    w("# rlock, on one server and on a quorum of 3, compared with flock, a redis-cli loop, "
      "redis-py and python-redis-lock\n")
    w(f"`{shlex.join(['python3', 'bench/compare.py', *sys.argv[1:]])}`, {meta['date']}; "
      f"{meta['machine']}; load average {meta['load_start']} at the start, "
      f"{meta['load_end']} at the end. Versions: {meta['versions']}. "
      "The machine is shared and noisy: compare ratios to flock from this run, not times across "
      "runs. Definitions are in the docstring of bench/compare.py.\n")
    if tuple(names) != TOOLS:
        w(f"Only some tools were run (--tools): {', '.join(names)}. Targets that need another "
          "tool show –.\n")
    w = out.append
    targets = []

    # (a)
    w("## (a) Uncontended call: `TOOL KEY -- true`, timed from a bash loop\n")
    w("| tool | calls | median ms | p99 ms | median ÷ flock's |")
    w("|---|---:|---:|---:|---:|")
    flock_median = median(uncontended.get(FLOCK, []))
    ratios = {}
    for tool in names:
        ms = uncontended.get(tool, [])
        ratios[tool] = median(ms) / flock_median if ms and flock_median else None
        w(f"| {tool} | {len(ms)} | {fmt(median(ms))} | {fmt(p99(ms))} "
          f"| {fmt(ratios[tool], 2, '×')} |")
    w("")
    r = ratios.get(RLOCK_TOOL)
    targets.append(("(a) rlock's uncontended median ≤ 1.6× flock's", fmt(r, 2, "×"),
                    None if r is None else r <= 1.6))

    # (b)-(e)
    w("## (b)–(e) Contention: N contenders take turns on one lock\n")
    w(f"About {args.turns} turns per timed run, half that in the counting and read-modify-write "
      "runs.\n")
    w("### (b) Handoffs and (c) Redis commands\n")
    w("Critical section: a start and an end stamp (as bench/handoff.py). Median handoff: the "
      "median of the timed runs' medians. p99: over all their handoffs. Longest: the longest "
      "handoff of all the timed runs, the longest the lock lay free while someone waited. "
      "÷ flock's, ÷ rlock's: the median over rounds of the tool's median ÷ flock's (rlock's, on "
      "one server) in the same round. Commands per handoff: from the counting run; for the "
      "quorum, summed over its three servers.\n")
    w("| N | tool | timed runs | handoffs/s | median handoff ms | p99 ms | longest ms "
      "| median ÷ flock's | median ÷ rlock's | client cmds/handoff | executed/handoff |")
    w("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    summary = {}

    def handoff_median(run):
        return median(run["handoffs"]) * 1000

    def select(n, tool, kind, good=False):
        return [run for run in runs if run["contenders"] == n and run["tool"] == tool
                and run["kind"] == kind and not (good and run["error"])]

    def medians_by_round(n, tool):
        return {run["round"]: handoff_median(run) for run in select(n, tool, TIMED, True)}

    def ratio_by_round(mine, theirs):
        return median([mine[r] / theirs[r] for r in mine if r in theirs])

    for n in args.contenders:
        flock_medians = medians_by_round(n, FLOCK)
        rlock_medians = medians_by_round(n, RLOCK_TOOL)
        for tool in TOOLS:
            good = select(n, tool, TIMED, True)
            medians = medians_by_round(n, tool)
            all_handoffs = [h * 1000 for run in good for h in run["handoffs"]]
            summary[(n, tool)] = {"median": median(list(medians.values())),
                                  "ratio": ratio_by_round(medians, flock_medians),
                                  "to_rlock": ratio_by_round(medians, rlock_medians),
                                  "longest": max(all_handoffs, default=None)}
            if tool not in names:
                continue
            client = executed = "–"
            counted = select(n, tool, COUNT, True)
            if counted:
                run = counted[0]
                client = (("≥" if run["slowlog_full"] else "")
                          + f"{run['client'] / len(run['handoffs']):.1f}")
                executed = f"{run['executed'] / len(run['handoffs']):.1f}"
            mine = summary[(n, tool)]
            w(f"| {n} | {tool} | {len(good)} "
              f"| {fmt(median([run['rate'] for run in good if 'rate' in run]), 0)} "
              f"| {fmt(mine['median'])} | {fmt(p99(all_handoffs))} | {fmt(mine['longest'], 1)} "
              f"| {fmt(mine['ratio'], 2, '×')} | {fmt(mine['to_rlock'], 2, '×')} "
              f"| {client} | {executed} |")
    w("")
    w("Note: redis-py Lock (its default sleep=0.1) and the redis-cli loop retry every 0.1 s "
      "while the lock is held, so their handoffs wait for some waiter's next try; "
      "python-redis-lock and rlock on one server wake a waiter when the lock is released. All "
      "three peers, written in Python or shell, also start more slowly (see (a)). Details "
      "under Notes.\n")
    w("### (d) Order and (e) lost updates\n")
    w("Inversions, in the timed runs: per run, median / largest; in brackets the median number "
      "of pairs of turns that were waiting at the same time (those that could invert). After "
      "first turns: the same, leaving out each contender's first turn (all contenders start at "
      "once, so their first arrivals fall within milliseconds of each other while their tools "
      "are still starting up). Widest gap: the largest arrival gap of an inverted pair. Lost "
      "updates: turns − counter in the read-modify-write run (1 ms between read and write). "
      "Max in: most critical sections inside at once, all runs. Problems: all runs.\n")
    # {tool: [(n, (inversions, turns matched))]}: each rlock placed by its first request to
    # Redis (to the quorum's first server), from the counting runs.
    contact = {tool: [(n, run["contact"]) for n in args.contenders
                      for run in select(n, tool, COUNT) if run.get("contact")]
               for tool in RLOCK_TOOLS}
    w("| N | tool | inversions per run (pairs) | after first turns | widest gap ms "
      "| lost updates / turns | max in | problems |")
    w("|---:|---|---:|---:|---:|---:|---:|---|")
    for n in args.contenders:
        for tool in names:
            timed = select(n, tool, TIMED)
            rmw = select(n, tool, RMW)
            mine = [run for run in runs if run["contenders"] == n and run["tool"] == tool]
            counts = [run["inversions"] for run in timed]
            later = [run["later_inversions"] for run in timed]
            inv = (f"{median(counts):g} / {max(counts)} "
                   f"({median([run['waiting_pairs'] for run in timed]):g})" if timed else "–")
            widest = max((run["widest"] * 1000 for run in timed if run["inversions"]),
                         default=None)
            lost = (f"{sum(run['lost'] for run in rmw)} / {sum(run['turns'] for run in rmw)}"
                    if rmw else "–")
            problems = "; ".join(f"{run_name(run)}: {run['error']}"
                                 for run in mine if run["error"])
            w(f"| {n} | {tool} | {inv} | {f'{median(later):g} / {max(later)}' if later else '–'} "
              f"| {fmt(widest, 1)} | {lost} | {max((run['most'] for run in mine), default='–')} "
              f"| {problems} |")
    w("")
    where = {RLOCK_TOOL: "its rlock first reached Redis (its first acquire request",
             QUORUM_TOOL: "its rlock first reached the quorum's first server (its first acquire "
                          "request there"}
    for tool in RLOCK_TOOLS:
        if contact[tool]:
            w(f"{tool}, placing each turn by the moment {where[tool]}, recorded by MONITOR in the "
              "counting run) instead of by its arrival stamp: "
              + "; ".join(f"N = {n}: {inverted} inversions in {matched} turns"
                          for n, (inverted, matched) in contact[tool])
              + ". (The counting run by arrival stamps: "
              + "; ".join(f"N = {n}: {run['inversions']}" for n in args.contenders
                          for run in select(n, tool, COUNT))
              + ".)\n")
    for n in args.contenders:
        mine = summary[(n, RLOCK_TOOL)]
        targets.append((f"(b) rlock's median handoff ≤ 1.3× flock's, N = {n}",
                        fmt(mine["ratio"], 2, "×"),
                        None if mine["ratio"] is None else mine["ratio"] <= 1.3))
        peers = {tool: summary[(n, tool)]["median"] for tool in PEER_TOOLS}
        known = {tool: m for tool, m in peers.items() if m is not None}
        best = min(known, key=known.get) if known else None
        ok = None if mine["median"] is None or not known else (
            all(mine["median"] < m for m in known.values()) and len(known) == len(peers))
        figure = (f"rlock {fmt(mine['median'])} ms; fastest peer: {best} {fmt(known[best])} ms"
                  if best else "–")
        targets.append((f"(b) rlock's median handoff lower than every peer's, N = {n}", figure, ok))
    for n in args.contenders:
        quorum, single = summary[(n, QUORUM_TOOL)], summary[(n, RLOCK_TOOL)]
        ratio = quorum["to_rlock"]
        figure = fmt(ratio, 2, "×")
        if ratio is not None:
            figure += f" (medians {fmt(quorum['median'])} ms and {fmt(single['median'])} ms)"
        targets.append((f"(b) {QUORUM_TOOL}'s median handoff ≤ 2× rlock's on one server, "
                        f"N = {n}", figure, None if ratio is None else ratio <= 2))
    gap_n = 8
    if gap_n in args.contenders:
        longest = {tool: summary[(gap_n, tool)]["longest"] for tool in (QUORUM_TOOL, RLOCK_TOOL,
                                                                         FLOCK)}
        figure = (f"{fmt(longest[QUORUM_TOOL], 1, ' ms')} (for context: rlock "
                  f"{fmt(longest[RLOCK_TOOL], 1, ' ms')}, flock {fmt(longest[FLOCK], 1, ' ms')})")
        ok = None if longest[QUORUM_TOOL] is None else longest[QUORUM_TOOL] < 20
    else:
        figure, ok = f"– (N = {gap_n} not run)", None
    targets.append((f"(b) {QUORUM_TOOL}'s longest idle gap (its longest handoff in the timed "
                    f"runs) < 20 ms, N = {gap_n}", figure, ok))
    for tool, what in ((RLOCK_TOOL, "the lock (each rlock's first request to Redis)"),
                       (QUORUM_TOOL, "its first server (each rlock's first request to it)")):
        at_lock = sum(c[0] for _, c in contact[tool]) if contact[tool] else None
        figure = ("–" if at_lock is None else
                  f"{at_lock} in {sum(c[1] for _, c in contact[tool])} turns "
                  f"({', '.join(f'N = {n}' for n, _ in contact[tool])})")
        targets.append((f"(d) no order inversions for {tool}, in order of arrival at {what}",
                        figure, None if at_lock is None else at_lock == 0))
    apart = [(n, run["contact_apart"]) for n in args.contenders
             for run in select(n, QUORUM_TOOL, COUNT) if run.get("contact_apart")]
    if apart:
        count = sum(c[0] for _, c in apart)
        figure = (f"{count} in {sum(c[1] for _, c in apart)} turns "
                  f"({', '.join(f'N = {n}' for n, _ in apart)})")
        targets.append((f"(d) no order inversions for {QUORUM_TOOL} between waiters whose first "
                        "tries did not overlap (the later one's first request reached a server "
                        "only after the earlier one's had reached all three)", figure, count == 0))
    stamped = {tool: [run for n in args.contenders for run in select(n, tool, TIMED)]
               for tool in (FLOCK, *RLOCK_TOOLS) if tool in names}
    figure = "; ".join(
        f"{tool} {sum(run['inversions'] for run in runs)} in {len(runs)} runs (leaving out "
        f"first turns {sum(run['later_inversions'] for run in runs)})"
        for tool, runs in stamped.items())
    figure += "".join(
        f"; {tool}'s widest gap "
        f"{fmt(max((run['widest'] * 1000 for run in stamped[tool]), default=None), 1)} ms"
        for tool in RLOCK_TOOLS if tool in stamped)
    targets.append(("(d) context, not a target: inversions against the shells' arrival stamps, "
                    "taken before each tool starts, which no tool can see", figure or "–", None))
    lost = {tool: [run["lost"] for n in args.contenders for run in select(n, tool, RMW)]
            for tool in TOOLS}
    mine = [tool for tool in RLOCK_TOOLS if lost[tool]]
    targets.append(("(e) no lost updates for rlock, on one server and on the quorum",
                    ", ".join(f"{tool} {sum(lost[tool])}" for tool in mine) or "–",
                    None if not mine else all(sum(lost[tool]) == 0 for tool in mine)))
    others = [tool for tool in TOOLS if tool not in RLOCK_TOOLS and lost[tool]]
    targets.append(("(e) no lost updates for the other tools",
                    ", ".join(f"{tool} {sum(lost[tool])}" for tool in others) or "–",
                    None if not others else all(sum(lost[tool]) == 0 for tool in others)))

    # (f)
    w("## (f) Footprint while holding the lock: `TOOL KEY -- sleep 2`, sampled every 0.1 s\n")
    w("| tool | samples | peak RSS (VmHWM) MiB | RSS (VmRSS) MiB | threads "
      "| other processes of the tool |")
    w("|---|---:|---:|---:|---:|---:|")
    for tool in names:
        f = footprint.get(tool)
        if not f or not f["samples"]:
            w(f"| {tool} | 0 | – | – | – | – |")
            continue
        w(f"| {tool} | {f['samples']} | {f['hwm'] / 1024:.1f} | {f['rss'] / 1024:.1f} "
          f"| {f['threads']} | {f['others']} |")
    w("")
    w("Threads and RSS are those of the tool's own process (flock; bash running the redis-cli "
      "wrapper; the Python interpreter; rlock). Other processes: the tool's descendants besides "
      "the command. rlock's is its guardian (rlock-guardian), a process of its own.\n")
    f = footprint.get(RLOCK_TOOL)
    hwm = f["hwm"] / 1024 if f and f["samples"] else None
    targets.append(("(f) rlock's peak RSS < 10 MiB", fmt(hwm, 1, " MiB"),
                    None if hwm is None else hwm < 10))

    head.append("## Targets\n")
    head.append("| target | figure | result |")
    head.append("|---|---|---|")
    for name, figure, ok in targets:
        head.append(f"| {name} | {figure} | {verdict(ok)} |")
    head.append("")
    w("## Notes on the peers\n")
    w("- **redis-cli loop** (bench/peers/redis-cli-lock.sh): `SET KEY TOKEN NX PX 30000`, and "
      "`sleep 0.1` between tries (the same pause as redis-py's default); each try starts a "
      "redis-cli and a sleep process. Nothing refreshes the key; release is a Lua "
      "compare-and-delete. Waiters poll: a handoff waits for the next try of some waiter, and "
      "order is whoever tries first.")
    w("- **redis-py Lock** (bench/peers/redis-py-lock.py): library defaults, blocking=True, "
      "blocking_timeout=None, **sleep=0.1 s between tries**, which bounds how soon a waiter "
      "notices a release: its handoffs are dominated by that sleep, not by Redis. timeout=30 "
      "instead of the default None (no expiry); no renewal (redis-py has none built in). Every "
      "call also pays for starting Python and importing redis.")
    w("- **python-redis-lock** (bench/peers/python-redis-lock.py): expire=30 with "
      "auto_renewal=True (the defaults, no expiry and no renewal, would keep a crashed holder's "
      "lock for ever); other settings default (signal_expire=1000 ms, wait for ever). A release "
      "pushes one wake-up that one BLPOP waiter takes; it then races any new arrival for SET NX.")
    w("- **rlock**: `rlock run KEY -- CMD`, default options (ttl 30 s, refreshed every 10 s).")
    w(f"- **{QUORUM_TOOL}**: the same binary and call, with RLOCK_REDIS naming {QUORUM_SERVERS} "
      "redis-servers of its own (independent masters, no replication between them); the lock "
      "is taken when a majority (2) grant it.")
    w("- The single-server Redis tools used the same redis-server, which logged every command to "
      "its slowlog in the counting runs only (and was watched by MONITOR in rlock's); the "
      f"quorum's {QUORUM_SERVERS} servers did the same in its counting runs (MONITOR on the "
      "first); flock used a file in the same temporary folder.")
    if meta.get("notes"):
        for note in meta["notes"]:
            w(f"- {note}")
    w("")
    return "\n".join(head + out)


# --- main -------------------------------------------------------------------------------------

def versions(peer_versions, port):
    rlock = subprocess.run([RLOCK, "--version"], capture_output=True, text=True).stdout.strip()
    server = redis_cli(port, "INFO", "server")
    redis_version = next(line.split(":")[1] for line in server.splitlines()
                         if line.startswith("redis_version:"))
    flock = subprocess.run(["flock", "--version"], capture_output=True, text=True).stdout.strip()
    peers = "".join(f"{name} {version}, " for name, version in peer_versions.items())
    return (f"{rlock}, redis-server {redis_version.strip()}, {flock}, {peers}"
            f"Python {platform.python_version()}")


def parse_tools(text):
    """--tools: names from TOOLS (or their slugs, e.g. rlock-quorum-(3)), comma-separated; the
    selection in TOOLS' order."""
    known = {}
    for tool in TOOLS:
        known[tool.lower()] = known[slug(tool).lower()] = tool
    wanted = set()
    for name in text.split(","):
        if not name.strip():
            continue
        tool = known.get(name.strip().lower())
        if tool is None:
            raise argparse.ArgumentTypeError(
                f"unknown tool {name.strip()!r}; known: {', '.join(TOOLS)}")
        wanted.add(tool)
    if not wanted:
        raise argparse.ArgumentTypeError("no tool named")
    return tuple(tool for tool in TOOLS if tool in wanted)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run of about a minute (fewer calls, turns and rounds)")
    parser.add_argument("--out", default=os.path.join(BENCH, "results.md"),
                        help="markdown file to write (default bench/results.md)")
    parser.add_argument("--budget", type=float, help="seconds for the whole run (540; 90 quick)")
    parser.add_argument("--tools", type=parse_tools, default=TOOLS,
                        help=f"the tools to run, comma-separated (default all: {', '.join(TOOLS)})")
    parser.add_argument("--calls", type=int, help="(a) calls per tool (200; 20 quick)")
    parser.add_argument("--contenders", default="8,32", help="(b)-(e) contender counts")
    parser.add_argument("--rounds", type=int, help="(b)-(e) rounds (3; 1 quick)")
    parser.add_argument("--turns", type=int, help="(b)-(e) turns per run (240; 64 quick)")
    parser.add_argument("--run-seconds", type=float,
                        help="(b)-(e) most seconds one run may start turns for (40; 5 quick)")
    args = parser.parse_args()
    quick = args.quick
    for name, full, smoke in (("budget", 540, 90), ("calls", 200, 20), ("rounds", 3, 1),
                              ("turns", 240, 64), ("run_seconds", 40, 5)):
        if getattr(args, name) is None:
            setattr(args, name, smoke if quick else full)
    args.contenders = [int(n) for n in args.contenders.split(",") if n]
    deadline = Deadline(args.budget)

    # SIGTERM ends the run like Ctrl-C: the finally blocks stop what this script started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    for tool in ("redis-server", "redis-cli", "flock", "bash", "cargo"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is needed on PATH")
    peer_versions = (ensure_venv(deadline) if any(tool in args.tools for tool in PYTHON_TOOLS)
                     else {})
    step("cargo build --release")
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True,
                   timeout=max(60, deadline.left() - 120))

    meta = {"date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "machine": f"{os.cpu_count()} CPUs, {platform.system()} {platform.release()}",
            "load_start": " ".join(f"{x:.2f}" for x in os.getloadavg()), "notes": []}
    with tempfile.TemporaryDirectory(prefix="rlock-compare-") as workdir:
        servers = []  # every redis-server started, stopped by pid in the finally block
        try:
            port = start_redis(workdir, "redis", servers)
            step(f"redis-server pid {servers[-1].pid} on 127.0.0.1:{port}; work folder {workdir}")
            quorum_ports = []
            if QUORUM_TOOL in args.tools:
                for i in range(QUORUM_SERVERS):
                    quorum_ports.append(start_redis(workdir, f"quorum-{i + 1}", servers))
                step(f"quorum: redis-server pids {', '.join(str(s.pid) for s in servers[1:])} "
                     f"on 127.0.0.1:{', '.join(map(str, quorum_ports))}")
            tools = Tools(workdir, args.tools, port, quorum_ports)
            meta["versions"] = versions(peer_versions, port)
            step("(f) footprint")
            footprint = measure_footprint(tools, deadline, 1 if quick else 3)
            # (a) gets at most a quarter of what is left: contention needs the most time.
            step(f"(a) uncontended calls, {args.calls} per tool")
            until = time.monotonic() + max(10, (deadline.left() - RESERVE) / 4)
            uncontended, failed = measure_uncontended(tools, args.calls, until)
            for tool, error in failed.items():
                meta["notes"].append(f"(a) {error}")
            short = [tool for tool in args.tools
                     if len(uncontended[tool]) < args.calls and tool not in failed]
            if short:
                meta["notes"].append(f"(a) stopped early for its share of the budget: "
                                     f"{', '.join(short)} made fewer than {args.calls} calls.")
            step("(b)-(e) contention")
            runs, planned = measure_contended(tools, args, deadline, step)
            done = len(runs)
            if done < planned:
                meta["notes"].append(f"(b)-(e): the budget ran out after {done} of {planned} runs.")
        finally:
            for server in servers:
                stop_redis(server)
        meta["load_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        text = report(meta, footprint, uncontended, runs, args)
    print(text)
    with open(args.out, "w") as f:
        f.write(text + "\n")
    step(f"wrote {os.path.relpath(args.out)}; {args.budget - deadline.left():.0f} s in all")


if __name__ == "__main__":
    main()
