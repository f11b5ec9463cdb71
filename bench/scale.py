#!/usr/bin/env python3
"""Scale benchmark: what N waiters on one lock cost Redis and the machine, in one invocation.

The script builds rlock (`cargo build --release`), starts its own redis-server on a free loopback
port in a temporary folder (its soft RLIMIT_NOFILE raised for it, and `maxclients` set, so it can
take one connection per process of the largest N), and stops it by pid at the end, also on
failure. Every process it starts leads its own process group and is ended by that pid only.

Sizes: N = 8, 64, 256, and 1000 when the machine's limits allow it (--sizes overrides; --quick
runs 8, 64, 256). Before the
runs it prints, and the report records, the limits that decide whether the largest N can run:
RLIMIT_NOFILE of this script and of the redis-server child, RLIMIT_NPROC (which counts threads
of this user), /proc/sys/kernel/pid_max and threads-max (every thread takes a pid), and
MemAvailable. Each waiter is two processes, rlock and its rlock-guardian, of 4 threads together
(measured at the first N and used for the estimate); an N is skipped, with the reason, when its
threads would exceed 80% of any of those limits' headroom or its memory half of MemAvailable.

(a) Waiting. One holder, `rlock run KEY -- sleep 600` (started; waited for until `rlock ttl KEY`
    exits 0), then N waiters `rlock -q run KEY -- true` (stdio /dev/null). Once `ZCARD
    {rlock:KEY}}queue` is N (bounded wait) and 2 s more have passed, two windows of --window
    seconds (10; 3 with --quick), one after the other:
    - the CPU window, without MONITOR (which costs Redis CPU itself): `CONFIG RESETSTAT` at its
      start; `INFO cpu` at both ends. Redis CPU = (used_cpu_sys + used_cpu_user delta) / window,
      in % of one core. At its end `INFO commandstats`: evalsha calls per second and its
      usec_per_call. While everyone waits, the only EVALSHA calls are the waiters' heartbeats
      (rlock's acquire script, which renews the waiter's place) and the holder's refresh (one
      per 10 s): so usec_per_call is the heartbeat script's cost per call at this N.
    - the command window: a raw socket in MONITOR mode counts the lines of commands clients
      sent; the `[0 lua]` lines (commands run inside scripts) are left out. Client commands per
      second, and per waiter per second (that count / window / N; it includes the holder's
      refresh, at most one per 10 s).
    Memory: used_memory with the N waiting minus used_memory after the holder took the lock and
    before the waiters came (allocator noise of some KiB included); and the sum of `MEMORY USAGE
    KEY SAMPLES 0` over the keys matching `{rlock:KEY}}*`. Connected clients (INFO clients)
    less those before the waiters, per waiter. Per waiter, from /proc: RSS and PSS (Rss and Pss
    of /proc/PID/smaps_rollup) of rlock plus its rlock-guardian child (found through
    /proc/PID/task/*/children), and threads (Threads of /proc/PID/status) of both; mean and max
    over waiters, and the total. PSS shares the pages of the one binary among all its
    processes, so it is the fair share of each; RSS counts them in every process.
    Then SIGTERM to the holder's rlock (it passes it to `sleep`, releases, exits) and a bounded
    wait for all waiters to take the lock in turn, run `true` and exit; nonzero exits counted.

(b) Handoffs. N contenders take turns on one lock, with bench/handoff.py's run_contenders
    (imported): each a bash loop whose critical section stamps $EPOCHREALTIME at its start and
    end; a handoff is one end stamp to the next start stamp. max(2, --turns // N) turns per
    contender (512; 64 with --quick), first flock(1) on a local file, then rlock, same N, same
    invocation. Reported: median and p99 handoff, rlock/flock ratio of medians at each N, and
    rlock's median at the largest N run over its median at the smallest. A run whose contender
    fails (handoff.py gives each turn `-t 10s`) is tried once more; the failure and the last
    line the contenders wrote to stderr are kept in the report, and a run that fails twice is
    shown as failed, and the benchmark goes on. For the rlock
    run: Redis CPU per handoff (INFO cpu delta over the run / handoffs); and the scripts' share
    of Redis time: the usec of EVALSHA, EVALSHA_RO, EVAL, EVAL_RO and FCALL over the usec of all
    commands clients sent. A script's usec already includes the commands it calls, so those are
    left out of the denominator: the commands scripts call are taken to be every name in
    `redis.call('...')` / `redis.pcall('...')` in src/lock/scripts/*.lua (read at run time);
    rlock's client sends none of them itself. This script's own CONFIG and INFO are left out too.

(c) Uncontended run. Batches alternate (--batches, 6; 2 with --quick, of --batch runs, 50; 10
    with --quick), each a bash loop of sequential calls on distinct names:
    - rlock: `rlock run k-B-I -- true`;
    - pair: `redis-cli SET k-B-I TOKEN NX PX 30000` then `redis-cli EVAL "if
      redis.call('get',KEYS[1])==ARGV[1] then return redis.call('del',KEYS[1]) else return 0
      end" 1 k-B-I TOKEN`, what people write by hand (two redis-cli processes a run);
    - connect: `redis-cli PING`, one connection and the cheapest command: what any client that
      connects once per run costs Redis before it does anything (rlock connects once, the pair
      twice), so rlock / pair cannot be below connect / pair.
    One batch of each first as a warm-up (not counted: rlock loads its scripts then). Per batch,
    `CONFIG RESETSTAT` and `INFO cpu` before, `INFO cpu` and `INFO commandstats` after. Redis
    CPU per run = the batches' total CPU delta / runs, in µs; also with Redis's idle CPU (its
    timers; measured over 2 s before the batches) times the batches' wall time subtracted. The
    ratio rlock / pair is of the raw figures. For rlock also: EVALSHA calls per run, their
    usec_per_call; for both, client commands per run (for the pair: its SET and EVAL, and any
    other command not called by rlock's scripts) and EVAL calls per run.

(d) Many names. --names distinct locks (10,000; 500 with --quick), each taken and released once
    by `rlock run -t 1s d-I -- true`, two bash loops at a time, on a flushed database. Then:
    DBSIZE, the keys by a SCAN (MATCH *d-*), their total MEMORY USAGE and the used_memory delta
    (after minus before the loops); 3 s later (the 1 s ttl plus 2 s), a SCAN again and the keys
    with no expiry (PTTL == -1): the target is 0. The keys left are broken down by kind: the
    lock record `rlock:d-I`, `}}fence`, `}}log`, `}}holder`, other; with count, TTL range (PTTL,
    in s) and memory.

Targets (pass/miss): Redis CPU while 256 wait < 5% of one core; client commands per waiter per
second <= 1 (at 256); handoff median at 256 <= 1.5x the median at 8, and <= 1.5x flock's at 256;
one waiting rlock with its helper <= 2 MiB PSS (the max over waiters at 256); the heartbeat
script's usec_per_call at 256 within 1.5x of that at 8; Redis CPU per uncontended run <= 0.5x
the redis-cli pair's; 0 keys without expiry after the many names.

Every loop and wait is bounded in count and time; --budget (default 570 s, 240 with --quick)
bounds the whole run: parts that no longer fit are skipped and say so. The machine is shared:
compare the ratios from one invocation, not figures across invocations.

Usage: python3 bench/scale.py [--quick] [--sizes 8,64,256,1000] [--out bench/results-scale.md]
Needs: redis-server, redis-cli, flock, bash, cargo; Python's standard library only.
"""

import argparse
import datetime
import glob
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
RLOCK = os.path.join(ROOT, "target", "release", "rlock")
sys.path.insert(0, BENCH)
import handoff  # noqa: E402  (run_contenders, free_port; its main() runs only as a script)
from handoff import stop_group, stop_redis  # noqa: E402

SCRIPT_COMMANDS = ("evalsha", "evalsha_ro", "eval", "eval_ro", "fcall", "fcall_ro")
ADMIN = ("config", "info", "monitor", "ping", "dbsize", "scan", "memory", "pttl", "flushall",
         "zcard", "client", "slowlog")  # this script's own; never counted as rlock's
PAIR_RELEASE = ("if redis.call('get',KEYS[1])==ARGV[1] then return redis.call('del',KEYS[1]) "
                "else return 0 end")
THREADS_PER_WAITER = 4  # rlock 3 + guardian 1, replaced by the figure measured at the first N


def step(message):
    print(f"[scale] {message}", file=sys.stderr, flush=True)


class Deadline:
    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def left(self):
        return self.end - time.monotonic()


# --- Redis: a minimal RESP client ----------------------------------------------------------

class Redis:
    def __init__(self, port, timeout=30):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.file = self.sock.makefile("rb")

    def close(self):
        self.file.close()
        self.sock.close()

    @staticmethod
    def encode(args):
        out = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(data), data))
        return b"".join(out)

    def read(self):
        line = self.file.readline()
        if not line:
            raise ConnectionError("redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            data = self.file.read(size + 2)[:-2]
            return data.decode(errors="replace")
        if kind == b"*":
            size = int(rest)
            return None if size < 0 else [self.read() for _ in range(size)]
        raise RuntimeError(f"unexpected reply {line!r}")

    def call(self, *args):
        self.sock.sendall(self.encode(args))
        return self.read()

    def pipeline(self, commands, chunk=1000):
        replies = []
        for i in range(0, len(commands), chunk):
            part = commands[i:i + chunk]
            self.sock.sendall(b"".join(self.encode(c) for c in part))
            for _ in part:
                try:
                    replies.append(self.read())
                except RuntimeError as error:
                    replies.append(error)
        return replies

    def info(self, section):
        fields = {}
        for line in self.call("INFO", section).splitlines():
            if ":" in line and not line.startswith("#"):
                name, _, value = line.partition(":")
                fields[name] = value
        return fields

    def cpu(self):
        info = self.info("cpu")
        return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])

    def commandstats(self):
        """{command: (calls, usec)} from INFO commandstats."""
        stats = {}
        for name, value in self.info("commandstats").items():
            if name.startswith("cmdstat_"):
                parts = dict(p.split("=") for p in value.split(","))
                stats[name[len("cmdstat_"):]] = (int(parts["calls"]), int(parts["usec"]))
        return stats

    def scan(self, pattern, limit_rounds=100000):
        keys, cursor = [], "0"
        for _ in range(limit_rounds):
            cursor, batch = self.call("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
            keys.extend(batch)
            if cursor == "0":
                return keys
        raise RuntimeError("SCAN did not finish")


class Monitor:
    """A MONITOR connection read by a thread: counts client lines and `[0 lua]` lines."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=1)
        self.sock.sendall(Redis.encode(["MONITOR"]))
        self.client = self.lua = 0
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        rest = b""
        while not self.stop:
            try:
                data = self.sock.recv(1 << 16)
            except socket.timeout:
                continue
            except OSError:
                return
            if not data:
                return
            lines = (rest + data).split(b"\n")
            rest = lines.pop()
            for line in lines:
                if b" [" not in line:
                    continue  # the +OK
                if b"[0 lua]" in line or b" lua] " in line:
                    self.lua += 1
                else:
                    self.client += 1

    def counts(self):
        return self.client, self.lua

    def close(self):
        self.stop = True
        self.thread.join(timeout=5)
        self.sock.close()


# --- processes -----------------------------------------------------------------------------


def start_redis(workdir, maxclients, nofile):
    """A redis-server of our own; returns (Popen, port). The caller stops it by pid."""
    port = handoff.free_port()

    def raise_nofile():
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and soft < nofile:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(nofile, hard), hard))

    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", workdir, "--maxclients", str(maxclients)],
        stdout=subprocess.DEVNULL, start_new_session=True, preexec_fn=raise_nofile)
    return server, port


def read_fields(path):
    fields = {}
    try:
        with open(path) as f:
            for line in f:
                name, _, value = line.partition(":")
                fields[name.strip()] = value.strip()
    except OSError:
        return None
    return fields


def children(pid):
    found = []
    for path in glob.glob(f"/proc/{pid}/task/*/children"):
        try:
            with open(path) as f:
                found.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return found


def footprint(pid):
    """(rss KiB, pss KiB, threads, guardian found) of rlock `pid` plus its rlock-guardian."""
    rss = pss = threads = 0
    pids = [pid]
    guardian = False
    for child in children(pid):
        try:
            with open(f"/proc/{child}/comm") as f:
                if f.read().strip() == "rlock-guardian":
                    pids.append(child)
                    guardian = True
        except OSError:
            pass
    for p in pids:
        rollup = read_fields(f"/proc/{p}/smaps_rollup")
        status = read_fields(f"/proc/{p}/status")
        if not rollup or not status:
            return None
        rss += int(rollup["Rss"].split()[0])
        pss += int(rollup["Pss"].split()[0])
        threads += int(status["Threads"])
    return rss, pss, threads, guardian


def count_threads(uid=None):
    """Threads on the machine (each takes a pid), and those of `uid`."""
    total = mine = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            n = len(os.listdir(f"/proc/{entry}/task"))
            owner = os.stat(f"/proc/{entry}").st_uid
        except OSError:
            continue
        total += n
        if owner == uid:
            mine += n
    return total, mine


def limits_text(value):
    return "unlimited" if value == resource.RLIM_INFINITY else str(value)


def check_limits(sizes, redis_nofile, threads_per_waiter, pss_kib):
    """For each N: (ok, reason). Also returns the lines describing the limits."""
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)
    with open("/proc/sys/kernel/pid_max") as f:
        pid_max = int(f.read())
    with open("/proc/sys/kernel/threads-max") as f:
        threads_max = int(f.read())
    mem = read_fields("/proc/meminfo")
    available = int(mem["MemAvailable"].split()[0])
    total, mine = count_threads(os.getuid())
    lines = [
        f"RLIMIT_NOFILE of this script: soft {limits_text(nofile[0])}, hard {limits_text(nofile[1])}",
        f"RLIMIT_NOFILE of redis-server: soft {redis_nofile[0]}, maxclients {redis_nofile[1]}",
        f"RLIMIT_NPROC: soft {limits_text(nproc[0])}, hard {limits_text(nproc[1])} "
        f"(threads of this user now: {mine})",
        f"pid_max {pid_max}, threads-max {threads_max} (threads on the machine now: {total})",
        f"MemAvailable {available // 1024} MiB",
        f"estimate per waiter: {threads_per_waiter} threads (2 processes), {pss_kib} KiB PSS; "
        "each handoff contender adds a bash",
    ]
    verdicts = {}
    for n in sizes:
        need = n * (threads_per_waiter + 1) + 50  # + a bash per contender in (b), + ourselves
        reasons = []
        if nproc[0] != resource.RLIM_INFINITY and mine + need > 0.8 * nproc[0]:
            reasons.append(f"RLIMIT_NPROC {nproc[0]} < {mine} + {need} threads (with 20% spare)")
        if total + need > 0.8 * pid_max:
            reasons.append(f"pid_max {pid_max} < {total} + {need} (with 20% spare)")
        if total + need > 0.8 * threads_max:
            reasons.append(f"threads-max {threads_max} < {total} + {need} (with 20% spare)")
        # Redis: one connection per process that talks to it (rlock, guardian) plus spare.
        if 2 * n + 64 > redis_nofile[1]:
            reasons.append(f"redis maxclients {redis_nofile[1]} < {2 * n + 64}")
        if n * pss_kib * 2 > available:
            reasons.append(f"memory: {n} x {pss_kib} KiB x 2 > MemAvailable {available} KiB")
        verdicts[n] = (not reasons, "; ".join(reasons) or
                       f"fits: {need} threads vs NPROC {limits_text(nproc[0])}, pid_max "
                       f"{pid_max}, threads-max {threads_max}; {2 * n + 64} clients vs "
                       f"maxclients {redis_nofile[1]}; ~{n * pss_kib // 1024} MiB PSS")
    return verdicts, lines


def wait_until(what, predicate, seconds, interval=0.1):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def script_commands():
    """The Redis commands rlock's Lua scripts call (read from src/lock/scripts/*.lua)."""
    names = set()
    for path in glob.glob(os.path.join(ROOT, "src", "lock", "scripts", "*.lua")):
        with open(path) as f:
            names.update(m.lower() for m in re.findall(
                r"redis\.p?call\(\s*['\"]([A-Za-z]+)['\"]", f.read()))
    return names


def script_share(stats, inner):
    """evalsha-family usec over the usec of all client-sent commands (see the docstring)."""
    scripts = sum(stats.get(c, (0, 0))[1] for c in SCRIPT_COMMANDS)
    client = sum(u for name, (_, u) in stats.items()
                 if name not in inner and name.split("|")[0] not in ADMIN)
    return scripts / client if client else None


def client_calls(stats, inner):
    return sum(c for name, (c, _) in stats.items()
               if name not in inner and name.split("|")[0] not in ADMIN)


# --- (a) waiting -----------------------------------------------------------------------------

def measure_waiting(n, port, env, window, deadline):
    r = Redis(port)
    key = f"wait-{n}"
    queue = f"{{rlock:{key}}}}}queue"
    result = {"n": n}
    holder = subprocess.Popen([RLOCK, "run", key, "--", "sleep", "600"], env=env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              start_new_session=True)
    waiters = []
    try:
        ok = wait_until("holder", lambda: subprocess.run(
            [RLOCK, "ttl", key], env=env, capture_output=True, timeout=10).returncode == 0, 20,
            0.2)
        if not ok:
            sys.exit(f"(a) N={n}: the holder did not take the lock in 20 s")
        time.sleep(0.5)
        mem_before = int(r.info("memory")["used_memory"])
        clients_before = int(r.info("clients")["connected_clients"])
        t0 = time.monotonic()
        for _ in range(n):
            waiters.append(subprocess.Popen(
                [RLOCK, "-q", "run", key, "--", "true"], env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        result["spawn_s"] = time.monotonic() - t0
        if not wait_until("queue", lambda: r.call("ZCARD", queue) >= n, 30 + n * 0.1, 0.2):
            sys.exit(f"(a) N={n}: only {r.call('ZCARD', queue)} of {n} waiters queued")
        result["queued_s"] = time.monotonic() - t0
        time.sleep(2)
        # The CPU window, without MONITOR.
        r.call("CONFIG", "RESETSTAT")
        cpu0, w0 = r.cpu(), time.monotonic()
        time.sleep(window)
        cpu1, w1 = r.cpu(), time.monotonic()
        stats = r.commandstats()
        span = w1 - w0
        result["cpu_pct"] = (cpu1 - cpu0) / span * 100
        calls, usec = stats.get("evalsha", (0, 0))
        result["evalsha_per_s"] = calls / span
        result["evalsha_usec"] = usec / calls if calls else None
        result["cpu_client_per_s"] = client_calls(stats, INNER) / span
        # The command window, with MONITOR.
        mon = Monitor(port)
        time.sleep(0.3)
        c0, l0 = mon.counts()
        m0 = time.monotonic()
        time.sleep(window)
        c1, l1 = mon.counts()
        mspan = time.monotonic() - m0
        mon.close()
        result["client_per_s"] = (c1 - c0) / mspan
        result["lua_per_s"] = (l1 - l0) / mspan
        result["client_per_waiter_s"] = result["client_per_s"] / n
        # Memory.
        info = r.info("memory")
        result["mem_delta"] = int(info["used_memory"]) - mem_before
        keys = r.scan(f"{{rlock:{key}}}}}*") + [f"rlock:{key}"]
        usage = r.pipeline([["MEMORY", "USAGE", k, "SAMPLES", "0"] for k in keys])
        result["keys"] = sum(1 for u in usage if isinstance(u, int))
        result["key_bytes"] = sum(u for u in usage if isinstance(u, int))
        result["clients_per_waiter"] = (
            int(r.info("clients")["connected_clients"]) - clients_before) / n
        prints = [footprint(w.pid) for w in waiters]
        prints = [p for p in prints if p]
        result["sampled"] = len(prints)
        result["guardians"] = sum(1 for p in prints if p[3])
        if prints:
            rss, pss, threads = ([p[i] for p in prints] for i in range(3))
            result.update(rss_mean=statistics.mean(rss), rss_max=max(rss), rss_total=sum(rss),
                          pss_mean=statistics.mean(pss), pss_max=max(pss), pss_total=sum(pss),
                          threads_mean=statistics.mean(threads), threads_max=max(threads),
                          threads_total=sum(threads))
        # Release: SIGTERM to the holder's rlock alone; it releases and the waiters run in turn.
        t1 = time.monotonic()
        holder.send_signal(signal.SIGTERM)
        holder.wait(timeout=30)
        result["holder_exit"] = holder.returncode
        end = time.monotonic() + 60 + n * 0.2
        failed = 0
        for w in waiters:
            try:
                code = w.wait(timeout=max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                code = None
            if code != 0:
                failed += 1
        result["drain_s"] = time.monotonic() - t1
        result["failed"] = failed
    finally:
        for w in waiters:
            stop_group(w, grace=2)
        stop_group(holder)
        r.close()
    return result


# --- (b) handoffs ---------------------------------------------------------------------------

def contenders_captured(tool, n, turns, workdir, port):
    """handoff.run_contenders with the contenders' stderr (fd 2) caught in a file and echoed.

    Returns (result or None, error text): on failure, the error names the last line a
    contender's rlock or flock wrote.
    """
    path = os.path.join(workdir, f"stderr-{tool}-{n}")
    saved = os.dup(2)
    sys.stderr.flush()
    with open(path, "w") as f:
        os.dup2(f.fileno(), 2)
    try:
        try:
            return handoff.run_contenders(tool, n, turns, workdir, RLOCK, port), None
        except SystemExit as error:
            # run_contenders stops its contenders before it exits; record and go on.
            return None, str(error.code)
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        with open(path, errors="replace") as f:
            lines = [line.strip() for line in f if line.strip()]
        for line in lines:
            step(f"    {tool} stderr: {line}")
        if lines:
            FAILURES.append(f"(b) {tool}, N = {n}: {len(lines)} lines on stderr, the last: "
                            f"{lines[-1][:300]}")


FAILURES = []


def measure_handoffs(n, turns, workdir, port, attempts=2):
    """flock then rlock; a failed run is tried once more, and the failure is kept."""
    r = Redis(port)
    out = {"n": n, "turns": turns * n, "failures": []}
    try:
        for tool in ("flock", "rlock"):
            for attempt in range(attempts):
                cpu0 = r.cpu()
                result, error = contenders_captured(tool, n, turns, workdir, port)
                cpu1 = r.cpu()
                if result:
                    break
                out["failures"].append(f"{tool} attempt {attempt + 1}: {error}")
            if not result:
                out["error"] = "; ".join(out["failures"])
                return out
            handoffs, _, rate, span, counts, _ = result
            ms = sorted(h * 1000 for h in handoffs)
            out[tool] = {"median": statistics.median(ms),
                         "p99": ms[min(len(ms) - 1, int(len(ms) * 0.99))],
                         "handoffs": len(ms), "rate": len(ms) / span}
            if tool == "rlock":
                stats = r.commandstats()  # run_contenders reset them before the rlock run
                out[tool]["cpu_us"] = (cpu1 - cpu0) * 1e6 / len(ms)
                out[tool]["share"] = script_share(stats, INNER)
                out[tool]["client_per"] = client_calls(stats, INNER) / len(ms)
        out["ratio"] = out["rlock"]["median"] / out["flock"]["median"]
    finally:
        r.close()
    return out


# --- (c) uncontended -----------------------------------------------------------------------

def batch_loop(tool, batch, size, token):
    if tool == "rlock":
        return (f'for ((i = 0; i < {size}; i++)); do "{RLOCK}" run k-{batch}-$i -- true '
                "|| exit 1; done")
    if tool == "connect":
        return (f'for ((i = 0; i < {size}; i++)); do redis-cli -p "$PORT" PING >/dev/null '
                "|| exit 1; done")
    release = PAIR_RELEASE.replace("'", "'\\''")
    return (f"for ((i = 0; i < {size}; i++)); do "
            f'redis-cli -p "$PORT" SET k-{batch}-$i {token} NX PX 30000 >/dev/null || exit 1; '
            f"redis-cli -p \"$PORT\" EVAL '{release}' 1 k-{batch}-$i {token} >/dev/null "
            "|| exit 1; done")


def run_batch(r, tool, batch, size, env, token):
    r.call("CONFIG", "RESETSTAT")
    cpu0, t0 = r.cpu(), time.monotonic()
    proc = subprocess.Popen(["bash", "-c", batch_loop(tool, batch, size, token)], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        if proc.wait(timeout=60 + size) != 0:
            sys.exit(f"(c) a {tool} batch failed")
    finally:
        stop_group(proc)
    cpu1, t1 = r.cpu(), time.monotonic()
    return cpu1 - cpu0, t1 - t0, r.commandstats()


# (c)'s tools, in the order of the even batches.
TOOLS_C = ("rlock", "pair", "connect")


def measure_uncontended(port, env, batches, size, deadline):
    r = Redis(port)
    token = secrets.token_hex(16)
    totals = {t: {"cpu": 0.0, "wall": 0.0, "runs": 0, "evalsha": 0, "evalsha_usec": 0,
                  "client": 0, "eval": 0} for t in TOOLS_C}
    try:
        for tool in TOOLS_C:
            run_batch(r, tool, "warm", size, env, token)
        c0, t0 = r.cpu(), time.monotonic()
        time.sleep(2)
        idle = (r.cpu() - c0) / (time.monotonic() - t0)
        done = 0
        for b in range(batches):
            if deadline.left() < 60:
                break
            order = TOOLS_C if b % 2 == 0 else TOOLS_C[::-1]
            for tool in order:
                cpu, wall, stats = run_batch(r, tool, b, size, env, token)
                t = totals[tool]
                t["cpu"] += cpu
                t["wall"] += wall
                t["runs"] += size
                calls, usec = stats.get("evalsha", (0, 0))
                t["evalsha"] += calls
                t["evalsha_usec"] += usec
                # The pair's SET is a client command that rlock's scripts also call.
                t["client"] += client_calls(stats, INNER) + (
                    stats.get("set", (0, 0))[0] if tool == "pair" else 0)
                calls, usec = stats.get("eval", (0, 0))
                t["eval"] += calls
            done += 1
    finally:
        r.close()
    out = {"idle_pct": idle * 100, "batches": done, "size": size}
    for tool, t in totals.items():
        runs = max(1, t["runs"])
        out[tool] = {"runs": t["runs"], "cpu_us": t["cpu"] * 1e6 / runs,
                     "cpu_us_net": (t["cpu"] - idle * t["wall"]) * 1e6 / runs,
                     "wall_ms": t["wall"] * 1000 / runs, "client_per": t["client"] / runs,
                     "evalsha_per": t["evalsha"] / runs, "eval_per": t["eval"] / runs,
                     "evalsha_usec": t["evalsha_usec"] / t["evalsha"] if t["evalsha"] else None}
    pair = out["pair"]["cpu_us"]
    out["ratio"] = out["rlock"]["cpu_us"] / pair if pair else None
    out["connect_ratio"] = out["connect"]["cpu_us"] / pair if pair else None
    return out


# --- (d) many names -------------------------------------------------------------------------

def kind_of(key):
    if key.startswith("rlock:d-"):
        return "lock record"
    for suffix in ("fence", "log", "holder"):
        if key.endswith("}}" + suffix):
            return "}}" + suffix
    return "other"


def survey(r, keys):
    ttls = r.pipeline([["PTTL", k] for k in keys])
    usage = r.pipeline([["MEMORY", "USAGE", k, "SAMPLES", "0"] for k in keys])
    kinds = {}
    for key, ttl, mem in zip(keys, ttls, usage):
        if not isinstance(ttl, int) or ttl == -2:
            continue  # gone meanwhile
        k = kinds.setdefault(kind_of(key), {"count": 0, "ttls": [], "mem": 0, "no_expiry": 0})
        k["count"] += 1
        k["mem"] += mem if isinstance(mem, int) else 0
        if ttl == -1:
            k["no_expiry"] += 1
        else:
            k["ttls"].append(ttl / 1000)
    return kinds


def measure_names(port, env, count, deadline):
    r = Redis(port)
    try:
        r.call("FLUSHALL")
        time.sleep(0.2)
        mem0 = int(r.info("memory")["used_memory"])
        half = count // 2
        procs = []
        t0 = time.monotonic()
        try:
            for start, stop in ((0, half), (half, count)):
                loop = (f'for ((i = {start}; i < {stop}; i++)); do "{RLOCK}" -q run -t 1s d-$i '
                        "-- true || exit 1; done")
                procs.append(subprocess.Popen(["bash", "-c", loop], env=env,
                                              stdin=subprocess.DEVNULL, start_new_session=True))
            limit = max(30, min(deadline.left() - 40, 60 + count * 0.05))
            end = time.monotonic() + limit
            for p in procs:
                try:
                    if p.wait(timeout=max(0.1, end - time.monotonic())) != 0:
                        sys.exit("(d) a run failed")
                except subprocess.TimeoutExpired:
                    sys.exit(f"(d) the runs took longer than {limit:.0f} s")
        finally:
            for p in procs:
                stop_group(p)
        elapsed = time.monotonic() - t0
        dbsize = r.call("DBSIZE")
        keys = r.scan("*d-*")
        mem1 = int(r.info("memory")["used_memory"])
        first = survey(r, keys)
        time.sleep(3)
        later_keys = r.scan("*d-*")
        later = survey(r, later_keys)
    finally:
        r.close()
    return {"count": count, "elapsed": elapsed, "dbsize": dbsize, "scanned": len(keys),
            "mem_delta": mem1 - mem0, "first": first, "later_keys": len(later_keys),
            "later": later,
            "no_expiry": sum(k["no_expiry"] for k in later.values())}


# --- the report -----------------------------------------------------------------------------

def fmt(value, digits=2, suffix=""):
    if value is None:
        return "–"
    return f"{value:.{digits}f}{suffix}"


def verdict(ok):
    return "–" if ok is None else ("pass" if ok else "miss")


def report(meta, waiting, handoffs, unc, names, skipped):
    out = [f"# rlock at scale ({meta['date']})", "",
           f"- machine: {meta['nproc']} CPUs, load average at start {meta['load_start']}, "
           f"at end {meta['load_end']}", f"- {meta['redis']}", f"- {meta['rlock']}",
           f"- command: `{meta['command']}`", f"- wall time: {meta['wall']:.0f} s", "",
           "Definitions of every figure: the docstring of bench/scale.py.", "",
           "## Limits", ""]
    out += [f"- {line}" for line in meta["limits"]]
    for n, (ok, reason) in meta["verdicts"].items():
        out.append(f"- N = {n}: {'run' if ok else 'skipped'}: {reason}")
    out += [f"- skipped: {s}" for s in skipped]
    out += ["", "## (a) Waiting: one holder, N waiters", "",
            "| N | queued in s | Redis CPU % of a core | client cmds/s | per waiter/s | "
            "lua cmds/s | evalsha/s | evalsha µs/call | used_memory Δ KiB | queue keys | "
            "keys KiB | clients/waiter |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for a in waiting:
        out.append(f"| {a['n']} | {a['queued_s']:.1f} | {a['cpu_pct']:.2f} | "
                   f"{a['client_per_s']:.1f} | {a['client_per_waiter_s']:.3f} | "
                   f"{a['lua_per_s']:.0f} | {a['evalsha_per_s']:.1f} | {fmt(a['evalsha_usec'])} | "
                   f"{a['mem_delta'] / 1024:.0f} | {a['keys']} | {a['key_bytes'] / 1024:.0f} | "
                   f"{a['clients_per_waiter']:.2f} |")
    out += ["", "Per waiter (rlock + rlock-guardian), from /proc:", "",
            "| N | sampled | with guardian | RSS mean KiB | RSS max | PSS mean KiB | PSS max | "
            "threads mean | max | total RSS MiB | total PSS MiB | total threads | "
            "nonzero exits | holder exit | all done in s |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for a in waiting:
        out.append(f"| {a['n']} | {a['sampled']} | {a['guardians']} | {a['rss_mean']:.0f} | "
                   f"{a['rss_max']} | {a['pss_mean']:.0f} | {a['pss_max']} | "
                   f"{a['threads_mean']:.1f} | {a['threads_max']} | {a['rss_total'] / 1024:.1f} | "
                   f"{a['pss_total'] / 1024:.1f} | {a['threads_total']} | {a['failed']} | "
                   f"{a['holder_exit']} | {a['drain_s']:.1f} |")
    out += ["", "## (b) Handoffs: N contenders take turns", "",
            "| N | turns | flock median ms | flock p99 | rlock median ms | rlock p99 | "
            "rlock/flock | rlock handoffs/s | Redis CPU µs/handoff | scripts' share of Redis "
            "time | client cmds/handoff |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    failed = [b for b in handoffs if "error" in b]
    handoffs = [b for b in handoffs if "error" not in b]
    for b in handoffs:
        f, rl = b["flock"], b["rlock"]
        out.append(f"| {b['n']} | {b['turns']} | {f['median']:.2f} | {f['p99']:.2f} | "
                   f"{rl['median']:.2f} | {rl['p99']:.2f} | {b['ratio']:.2f} | {rl['rate']:.0f} | "
                   f"{rl['cpu_us']:.0f} | {fmt(rl['share'] and rl['share'] * 100, 0, '%')} | "
                   f"{rl['client_per']:.1f} |")
    for b in failed:
        out.append(f"| {b['n']} | {b['turns']} | failed: {b['error']} | | | | | | | | |")
    retried = [b for b in handoffs if b["failures"]]
    for b in retried:
        out.append("")
        out.append(f"N = {b['n']}: measured on a second attempt after: "
                   f"{'; '.join(b['failures'])}.")
    by_n = {b["n"]: b for b in handoffs}
    small, big = (min(by_n), max(by_n)) if by_n else (None, None)
    growth = (by_n[big]["rlock"]["median"] / by_n[small]["rlock"]["median"]) if by_n else None
    if len(by_n) > 1:
        out += ["", f"rlock's median at N = {big} over its median at N = {small}: "
                f"{growth:.2f}."]
    out += ["", "## (c) Uncontended run: Redis CPU per run", "",
            f"{unc['batches']} batches of {unc['size']} per tool, alternating; Redis idle CPU "
            f"{unc['idle_pct']:.2f}% of a core (subtracted in the 'net' column).", "",
            "| tool | runs | wall ms/run | Redis CPU µs/run | net of idle | client cmds/run | "
            "evalsha/run | eval/run | evalsha µs/call |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for tool, label in (("rlock", "`rlock run k -- true`"),
                        ("pair", "redis-cli SET NX PX + redis-cli EVAL del"),
                        ("connect", "redis-cli PING (one connection)")):
        t = unc[tool]
        out.append(f"| {label} | {t['runs']} | {t['wall_ms']:.1f} | {t['cpu_us']:.0f} | "
                   f"{t['cpu_us_net']:.0f} | {t['client_per']:.1f} | {t['evalsha_per']:.1f} | "
                   f"{t['eval_per']:.1f} | "
                   f"{fmt(t['evalsha_usec'])} |")
    out += ["", f"Ratio rlock / pair of Redis CPU per run: {fmt(unc['ratio'])}; one connection "
            f"alone / pair: {fmt(unc['connect_ratio'])}.", "",
            f"## (d) {names['count']} distinct names, each taken and released once", "",
            f"Runs took {names['elapsed']:.0f} s (two at a time). Right after: DBSIZE "
            f"{names['dbsize']}, {names['scanned']} keys by SCAN, used_memory Δ "
            f"{names['mem_delta'] / 1024:.0f} KiB. 3 s later: {names['later_keys']} keys, "
            f"{names['no_expiry']} without expiry.", ""]
    for title, kinds in (("right after the runs", names["first"]), ("3 s later", names["later"])):
        out += [f"Keys left, {title}:", "",
                "| kind | count | TTL min s | TTL max s | no expiry | memory KiB | bytes/key |",
                "|---|---:|---:|---:|---:|---:|---:|"]
        for kind in ("lock record", "}}fence", "}}log", "}}holder", "other"):
            k = kinds.get(kind)
            if not k:
                out.append(f"| `{kind}` | 0 | – | – | 0 | 0 | – |")
                continue
            lo = min(k["ttls"]) if k["ttls"] else None
            hi = max(k["ttls"]) if k["ttls"] else None
            out.append(f"| `{kind}` | {k['count']} | {fmt(lo, 1)} | {fmt(hi, 1)} | "
                       f"{k['no_expiry']} | {k['mem'] / 1024:.0f} | {k['mem'] / k['count']:.0f} |")
        out.append("")

    # Targets.
    wait = {a["n"]: a for a in waiting}
    targets = []
    w256 = wait.get(256)
    w8 = wait.get(8)
    targets.append(("Redis CPU while 256 wait < 5% of one core",
                    fmt(w256 and w256["cpu_pct"], 2, "%"), None if not w256 else
                    w256["cpu_pct"] < 5))
    targets.append(("client commands per waiter per second <= 1 (N = 256)",
                    fmt(w256 and w256["client_per_waiter_s"], 3),
                    None if not w256 else w256["client_per_waiter_s"] <= 1))
    b8, b256 = by_n.get(8), by_n.get(256)
    g = b256["rlock"]["median"] / b8["rlock"]["median"] if b8 and b256 else None
    fails = "".join(f"; N = {b['n']}: {len(b['failures'])} failed attempt(s) before"
                    for b in (b8, b256) if b and b["failures"])
    fails += "".join(f"; N = {b['n']}: failed" for b in failed if b["n"] in (8, 256))
    targets.append(("handoff median at 256 <= 1.5x median at 8",
                    ("–" if g is None else f"{g:.2f}x ({b256['rlock']['median']:.2f} / "
                     f"{b8['rlock']['median']:.2f} ms)") + fails, None if g is None else g <= 1.5))
    targets.append(("handoff median at 256 <= 1.5x flock's at 256",
                    ("–" if not b256 else f"{b256['ratio']:.2f}x ({b256['rlock']['median']:.2f} / "
                     f"{b256['flock']['median']:.2f} ms)") + fails,
                    None if not b256 else b256["ratio"] <= 1.5))
    ref = w256 or (waiting[-1] if waiting else None)
    targets.append((f"one waiting rlock with its helper <= 2 MiB PSS (max over waiters, "
                    f"N = {ref['n'] if ref else '–'})",
                    "–" if not ref else f"{ref['pss_max'] / 1024:.2f} MiB (mean "
                    f"{ref['pss_mean'] / 1024:.2f})", None if not ref else ref["pss_max"] <= 2048))
    h = (w256["evalsha_usec"] / w8["evalsha_usec"]
         if w8 and w256 and w8["evalsha_usec"] and w256["evalsha_usec"] else None)
    targets.append(("heartbeat script usec_per_call at 256 within 1.5x of that at 8",
                    "–" if h is None else f"{h:.2f}x ({w256['evalsha_usec']:.2f} / "
                    f"{w8['evalsha_usec']:.2f} µs)", None if h is None else h <= 1.5))
    targets.append(("Redis CPU per uncontended run <= 0.5x the redis-cli pair's",
                    "–" if unc["ratio"] is None else f"{unc['ratio']:.2f}x "
                    f"({unc['rlock']['cpu_us']:.0f} / {unc['pair']['cpu_us']:.0f} µs; one "
                    f"connection alone {fmt(unc['connect_ratio'])}x)",
                    None if unc["ratio"] is None else unc["ratio"] <= 0.5))
    targets.append((f"0 keys without expiry after the {names['count']} locks",
                    str(names["no_expiry"]), names["no_expiry"] == 0))
    head = ["## Targets", "", "| target | figure | result |", "|---|---|---|"]
    head += [f"| {t} | {f} | {verdict(ok)} |" for t, f, ok in targets]
    head.append("")
    meta.setdefault("notes", []).extend(FAILURES)
    if meta.get("notes"):
        out += ["## Notes", ""] + [f"- {n}" for n in meta["notes"]] + [""]
    idx = out.index("## Limits")
    return "\n".join(out[:idx] + head + out[idx:])


# --- main ----------------------------------------------------------------------------------

INNER = set()


def main():
    global INNER
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--sizes", help="waiter counts N (8,64,256,1000; 8,64,256 quick)")
    parser.add_argument("--window", type=float, help="seconds of each (a) window (10; 3 quick)")
    parser.add_argument("--turns", type=int, help="(b) turns per run, about (512; 64 quick)")
    parser.add_argument("--batches", type=int, help="(c) batches per tool (6; 2 quick)")
    parser.add_argument("--batch", type=int, help="(c) runs per batch (50; 10 quick)")
    parser.add_argument("--names", type=int, help="(d) distinct names (10000; 500 quick)")
    parser.add_argument("--budget", type=float, help="seconds for the whole run (570; 240 quick)")
    parser.add_argument("--out", default=os.path.join(BENCH, "results-scale.md"))
    args = parser.parse_args()
    for name, full, smoke in (("window", 10, 3), ("turns", 512, 64), ("batches", 6, 2),
                              ("batch", 50, 10), ("names", 10000, 500), ("budget", 570, 240)):
        if getattr(args, name) is None:
            setattr(args, name, smoke if args.quick else full)
    if args.sizes is None:
        args.sizes = "8,64,256" if args.quick else "8,64,256,1000"
    sizes = [int(n) for n in args.sizes.split(",") if n]
    if not sizes or min(sizes) < 1:
        sys.exit("--sizes: give positive waiter counts, e.g. 8,64,256")
    started = time.monotonic()
    deadline = Deadline(args.budget)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    for tool in ("redis-server", "redis-cli", "flock", "bash", "cargo"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is needed on PATH")
    handoff.RUN_SECONDS = 120  # bound each (b) run well inside the budget
    INNER = script_commands()
    step("cargo build --release")
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True, timeout=400)
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "nproc": os.cpu_count(),
            "load_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "redis": subprocess.run(["redis-server", "--version"], capture_output=True,
                                    text=True).stdout.strip(),
            "rlock": subprocess.run([RLOCK, "--version"], capture_output=True,
                                    text=True).stdout.strip(),
            "command": "python3 bench/scale.py" + "".join(f" {a}" for a in sys.argv[1:]),
            "notes": []}
    # Redis needs a descriptor per client (rlock and its guardian may each connect) + spare.
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    want = 4 * max(sizes) + 256
    redis_nofile = want if hard == resource.RLIM_INFINITY else min(want, hard)
    maxclients = max(128, redis_nofile - 32)
    waiting, handoffs, skipped = [], [], []
    with tempfile.TemporaryDirectory(prefix="rlock-scale-") as workdir:
        server, port = start_redis(workdir, maxclients, redis_nofile)
        try:
            if not wait_until("redis", lambda: subprocess.run(
                    ["redis-cli", "-p", str(port), "PING"], capture_output=True,
                    timeout=5).returncode == 0, 10, 0.05):
                sys.exit("redis-server did not answer")
            r = Redis(port)
            got_max = int(r.call("CONFIG", "GET", "maxclients")[1])
            r.close()
            with open(f"/proc/{server.pid}/limits") as f:
                line = next(l for l in f if l.startswith("Max open files"))
            redis_soft = line.split()[3]
            step(f"redis-server pid {server.pid} on 127.0.0.1:{port}, NOFILE soft {redis_soft}, "
                 f"maxclients {got_max}; work folder {workdir}")
            env = {k: v for k, v in os.environ.items() if not k.startswith("RLOCK_")}
            env.update(RLOCK_REDIS=f"redis://127.0.0.1:{port}", PORT=str(port), LC_NUMERIC="C")
            verdicts, lines = check_limits(sizes, (redis_soft, got_max), THREADS_PER_WAITER,
                                           2048)
            for line in lines:
                step(line)
            # (a), smallest N first; the first N's measured threads and PSS refine the check.
            for n in sorted(sizes):
                ok, reason = verdicts[n]
                if waiting:
                    a = waiting[0]
                    verdicts, lines = check_limits(sizes, (redis_soft, got_max),
                                                   a["threads_max"], int(a["pss_max"]))
                    ok, reason = verdicts[n]
                step(f"N = {n}: {'run' if ok else 'skip'}: {reason}")
                if not ok:
                    continue
                if deadline.left() < 120 + n * 0.3:
                    skipped.append(f"(a) N = {n}: not enough of the budget left")
                    continue
                step(f"(a) waiting, N = {n}")
                waiting.append(measure_waiting(n, port, env, args.window, deadline))
                a = waiting[-1]
                step(f"    CPU {a['cpu_pct']:.2f}%, {a['client_per_waiter_s']:.3f} cmds/waiter/s, "
                     f"PSS max {a['pss_max']} KiB, {a['failed']} failed")
            meta["limits"], meta["verdicts"] = lines, verdicts
            for n in sorted(sizes):
                if not verdicts[n][0]:
                    continue
                turns = max(2, args.turns // n)
                if deadline.left() < 90 + n * turns * 0.02:
                    skipped.append(f"(b) N = {n}: not enough of the budget left")
                    continue
                step(f"(b) handoffs, N = {n}, {turns} turns each")
                handoffs.append(measure_handoffs(n, turns, workdir, port))
                b = handoffs[-1]
                if "error" in b:
                    step(f"    failed: {b['error']}")
                    continue
                step(f"    rlock {b['rlock']['median']:.2f} ms, flock {b['flock']['median']:.2f} ms")
            step(f"(c) uncontended, {args.batches} batches of {args.batch}")
            unc = measure_uncontended(port, env, args.batches, args.batch, deadline)
            step(f"    ratio {fmt(unc['ratio'])}")
            step(f"(d) {args.names} names")
            names = measure_names(port, env, args.names, deadline)
        finally:
            stop_redis(server)
    meta["load_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    meta["wall"] = time.monotonic() - started
    meta["notes"].append("Client commands in (a) include the holder's refresh (one EVALSHA per "
                         "10 s); Redis CPU in (a) and (c) includes its idle timers.")
    meta["notes"].append("Commands scripts call (left out of client counts and of the share's "
                         "denominator): " + ", ".join(sorted(INNER)) + ".")
    text = report(meta, waiting, handoffs, unc, names, skipped)
    print(text)
    with open(args.out, "w") as f:
        f.write(text + "\n")
    step(f"wrote {os.path.relpath(args.out)}; {meta['wall']:.0f} s in all")


if __name__ == "__main__":
    main()
