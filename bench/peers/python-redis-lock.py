"""python-redis-lock.py KEY -- CMD [ARGS]...: run CMD while holding python-redis-lock's Lock on KEY.

A peer for bench/compare.py, run with the Python of bench/.venv (package python-redis-lock,
module redis_lock). It takes redis_lock.Lock on KEY (stored as `lock:KEY`), runs CMD (no shell),
releases the lock and exits with CMD's status (128+N if a signal N killed it, 126/127 if it could
not be started, 125 if Redis failed).

How the library waits: `SET lock:KEY ID NX EX expire`; when that fails, BLPOP on
`lock-signal:KEY`, into which release pushes one wake-up (a Lua script: delete the lock, LPUSH the
signal list, PEXPIRE it signal_expire ms); the woken waiter tries SET NX again. A new arrival may
take the lock before the woken waiter does: there is no queue.

Settings: expire=30 (seconds, as rlock's default ttl) with auto_renewal=True (a thread renews it
every expire*2/3 = 20 s while CMD runs; the library's defaults, expire=None and
auto_renewal=False, set no expiry, so a holder that crashed would keep the lock for ever). Every
other setting is the library's default: blocking=True, acquire timeout=None (wait for ever; a
waiter's BLPOP then times out after `expire` seconds and it tries again), signal_expire=1000 ms,
strict=True, a random id.

Environment: REDIS_URL (default redis://127.0.0.1:6379).
"""

import os
import subprocess
import sys

import redis
import redis_lock


def main():
    args = sys.argv[1:]
    if len(args) < 3 or args[1] != "--":
        print(f"usage: {sys.argv[0]} KEY -- CMD [ARGS]...", file=sys.stderr)
        return 125
    key, command = args[0], args[2:]
    client = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))
    lock = redis_lock.Lock(client, key, expire=30, auto_renewal=True)
    try:
        lock.acquire(blocking=True)
    except redis.RedisError as error:
        print(f"{sys.argv[0]}: {error}", file=sys.stderr)
        return 125
    try:
        try:
            status = subprocess.run(command).returncode
        except FileNotFoundError:
            status = 127
        except PermissionError:
            status = 126
    finally:
        lock.release()
    return 128 - status if status < 0 else status


if __name__ == "__main__":
    sys.exit(main())
