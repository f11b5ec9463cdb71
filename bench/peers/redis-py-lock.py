"""redis-py-lock.py KEY -- CMD [ARGS]...: run CMD while holding redis-py's Lock on KEY.

A peer for bench/compare.py, run with the Python of bench/.venv. It takes redis.lock.Lock on KEY,
runs CMD (no shell), releases the lock and exits with CMD's status (128+N if a signal N killed it,
126/127 if it could not be started, 125 if Redis failed).

The lock keeps redis-py's defaults: blocking=True with no blocking_timeout (wait for ever),
sleep=0.1 (a waiter tries `SET KEY TOKEN NX PX` again every 0.1 s: it polls, nothing wakes it),
thread_local=True, raise_on_release_error=True. One setting is not the default: timeout=30, the
key's lifetime in seconds, the same as rlock's default ttl (redis-py's default, None, sets no
expiry, so a holder that crashed would keep the lock for ever). redis-py does not renew the lock
while CMD runs, and neither does this wrapper. Release is redis-py's Lua compare-and-delete.

Environment: REDIS_URL (default redis://127.0.0.1:6379).
"""

import os
import subprocess
import sys

import redis
from redis.lock import Lock


def main():
    args = sys.argv[1:]
    if len(args) < 3 or args[1] != "--":
        print(f"usage: {sys.argv[0]} KEY -- CMD [ARGS]...", file=sys.stderr)
        return 125
    key, command = args[0], args[2:]
    client = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))
    lock = Lock(client, key, timeout=30, blocking=True)
    try:
        lock.acquire()
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
