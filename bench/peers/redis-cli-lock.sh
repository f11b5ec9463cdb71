#!/usr/bin/env bash
# redis-cli-lock.sh KEY -- CMD [ARGS]...
#
# The Redis lock people write by hand around redis-cli, as a peer for bench/compare.py:
# take KEY with `SET KEY TOKEN NX PX TTL`, retrying after a short sleep while someone else holds
# it; run CMD; release with a Lua compare-and-delete (only our own token is deleted); exit with
# CMD's status. Nothing refreshes the key while CMD runs, and waiters poll: no queue, no wake-up.
#
# Environment: REDIS_URL (default redis://127.0.0.1:6379), LOCK_TTL_MS (default 30000, as rlock's
# default ttl), LOCK_RETRY_SLEEP (seconds between tries, default 0.1, as redis-py's Lock).
set -u
if [ $# -lt 3 ] || [ "$2" != -- ]; then
    echo "usage: $0 KEY -- CMD [ARGS]..." >&2
    exit 125
fi
key=$1
shift 2
url=${REDIS_URL:-redis://127.0.0.1:6379}
ttl_ms=${LOCK_TTL_MS:-30000}
retry_sleep=${LOCK_RETRY_SLEEP:-0.1}
read -r token < /proc/sys/kernel/random/uuid

# redis-cli prints OK when the key was set and an empty line when it was not. A failure to reach
# Redis, or any other reply, must not look like a held lock: give up then.
while :; do
    reply=$(redis-cli -u "$url" SET "$key" "$token" NX PX "$ttl_ms") || reply="redis-cli failed"
    if [ "$reply" = OK ]; then
        break
    elif [ -n "$reply" ]; then
        echo "$0: $reply" >&2
        exit 125
    fi
    sleep "$retry_sleep"
done

"$@"
status=$?

redis-cli -u "$url" EVAL \
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end" \
    1 "$key" "$token" > /dev/null
exit "$status"
