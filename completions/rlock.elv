
use builtin;
use str;

set edit:completion:arg-completer[rlock] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'rlock'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'rlock'= {
            cand -r 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters'
            cand --redis 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters'
            cand --tls-ca 'For rediss:// URLs: the CA certificates (PEM) to trust instead of the system''s'
            cand --tls-cert 'For rediss:// URLs: a client certificate (PEM), for servers that require one'
            cand --tls-key 'The private key (PEM) of --tls-cert'
            cand --replicas 'Take and refresh a lock only once N replicas of the master have it (Redis WAIT), so that a failover right after keeps it; a lock they do not acknowledge in time is not taken (exit 125), a refresh they do not acknowledge failed [default: 0, do not wait]'
            cand --prefix 'Namespace of every key rlock writes ('''' locks the bare key, as other Redis lock libraries do)'
            cand --cluster 'The --redis URLs are seed nodes of one Redis Cluster'
            cand -v 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
            cand --verbose 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
            cand -q 'Say nothing on stderr but errors'
            cand --quiet 'Say nothing on stderr but errors'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand run 'Run a command while holding the lock KEY; exit with the command''s status'
            cand acquire 'Take the lock and print its token, for scripts that span several commands'
            cand refresh 'Extend a lock you hold (exit 1 when it is not yours or gone)'
            cand release 'Release a lock you hold (exit 1 when it is not yours or gone)'
            cand ttl 'Print the lock''s remaining lifetime, a line per holder, longest first (exit 1 when free)'
            cand status 'Show who holds the lock (every holder), since when, its ttl and fence, and who waits, in the order they will be served (exit 1 when free)'
            cand break 'Force-release a lock someone else holds, an operator''s tool (exit 1 when it was free)'
            cand list 'List the locks rlock holds now, a line per holder: name, holder, ttl, fence, waiting'
            cand log 'Show the lock''s last holds, newest last: when, who, how long, how each ended (exit 1 when it has none)'
            cand completions 'Print a shell completion script (bash, zsh, fish, elvish, powershell)'
            cand man 'Print the man page (roff): rlock man > rlock.1; man -l rlock.1'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'rlock;run'= {
            cand -t 'Lifetime of the lock; rlock refreshes it every ttl/3 while it holds it'
            cand --ttl 'Lifetime of the lock; rlock refreshes it every ttl/3 while it holds it'
            cand -w 'Wait at most this long for a held lock [default: wait forever]'
            cand --wait 'Wait at most this long for a held lock [default: wait forever]'
            cand -E 'Exit with this code when the lock is not obtained'
            cand --conflict-exit-code 'Exit with this code when the lock is not obtained'
            cand --limit 'Let at most N hold the lock at once (a semaphore); every rlock using the lock must give the same N [default: 1, exclusive]'
            cand --label 'Name this hold, as status, list and log show it (a CI job''s URL, say): at most 200 characters, without control characters'
            cand --progress 'While waiting with stderr not a terminal, say who holds the lock, for how long, and our place in the queue when the wait starts and then this often (at least 1s); 0: never, nor the waiting line on a terminal [default: 30s]'
            cand --kill-grace 'Time between SIGTERM and SIGKILL when rlock must stop the command (lock lost or not refreshed in time); both come before the lock can lapse [default: 10s, or a third of a shorter ttl]'
            cand --timeout 'Stop the command once it has run this long (counted from its start, not the wait): SIGTERM to its group, SIGKILL after --kill-grace; the lock is released and rlock exits 123, whatever the command''s status [default: no limit]'
            cand -r 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters'
            cand --redis 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters'
            cand --tls-ca 'For rediss:// URLs: the CA certificates (PEM) to trust instead of the system''s'
            cand --tls-cert 'For rediss:// URLs: a client certificate (PEM), for servers that require one'
            cand --tls-key 'The private key (PEM) of --tls-cert'
            cand --replicas 'Take and refresh a lock only once N replicas of the master have it (Redis WAIT), so that a failover right after keeps it; a lock they do not acknowledge in time is not taken (exit 125), a refresh they do not acknowledge failed [default: 0, do not wait]'
            cand --prefix 'Namespace of every key rlock writes ('''' locks the bare key, as other Redis lock libraries do)'
            cand -n 'Do not wait: give up at once if the lock is held'
            cand --no-wait 'Do not wait: give up at once if the lock is held'
            cand -s 'Take a shared (read) lock: shared holders run together, a plain (exclusive) one alone; arrivals are served in order, so a waiting exclusive one is not starved'
            cand --shared 'Take a shared (read) lock: shared holders run together, a plain (exclusive) one alone; arrivals are served in order, so a waiting exclusive one is not starved'
            cand --cluster 'The --redis URLs are seed nodes of one Redis Cluster'
            cand -v 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
            cand --verbose 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
            cand -q 'Say nothing on stderr but errors'
            cand --quiet 'Say nothing on stderr but errors'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rlock;acquire'= {
            cand -w 'Wait at most this long for a held lock [default: wait forever]'
            cand --wait 'Wait at most this long for a held lock [default: wait forever]'
            cand -E 'Exit with this code when the lock is not obtained'
            cand --conflict-exit-code 'Exit with this code when the lock is not obtained'
            cand --limit 'Let at most N hold the lock at once (a semaphore); every rlock using the lock must give the same N [default: 1, exclusive]'
            cand --label 'Name this hold, as status, list and log show it (a CI job''s URL, say): at most 200 characters, without control characters'
            cand --progress 'While waiting with stderr not a terminal, say who holds the lock, for how long, and our place in the queue when the wait starts and then this often (at least 1s); 0: never, nor the waiting line on a terminal [default: 30s]'
            cand -t 'Lifetime of the lock: it is not refreshed, so refresh it (rlock refresh) or release it before then, or it lapses'
            cand --ttl 'Lifetime of the lock: it is not refreshed, so refresh it (rlock refresh) or release it before then, or it lapses'
            cand -r 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters'
            cand --redis 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters'
            cand --tls-ca 'For rediss:// URLs: the CA certificates (PEM) to trust instead of the system''s'
            cand --tls-cert 'For rediss:// URLs: a client certificate (PEM), for servers that require one'
            cand --tls-key 'The private key (PEM) of --tls-cert'
            cand --replicas 'Take and refresh a lock only once N replicas of the master have it (Redis WAIT), so that a failover right after keeps it; a lock they do not acknowledge in time is not taken (exit 125), a refresh they do not acknowledge failed [default: 0, do not wait]'
            cand --prefix 'Namespace of every key rlock writes ('''' locks the bare key, as other Redis lock libraries do)'
            cand -n 'Do not wait: give up at once if the lock is held'
            cand --no-wait 'Do not wait: give up at once if the lock is held'
            cand -s 'Take a shared (read) lock: shared holders run together, a plain (exclusive) one alone; arrivals are served in order, so a waiting exclusive one is not starved'
            cand --shared 'Take a shared (read) lock: shared holders run together, a plain (exclusive) one alone; arrivals are served in order, so a waiting exclusive one is not starved'
            cand --cluster 'The --redis URLs are seed nodes of one Redis Cluster'
            cand -v 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
            cand --verbose 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
            cand -q 'Say nothing on stderr but errors'
            cand --quiet 'Say nothing on stderr but errors'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rlock;refresh'= {
            cand --limit 'Let at most N hold the lock at once (a semaphore); every rlock using the lock must give the same N [default: 1, exclusive]'
            cand -t 'New lifetime of the lock, from now'
            cand --ttl 'New lifetime of the lock, from now'
            cand -r 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters'
            cand --redis 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters'
            cand --tls-ca 'For rediss:// URLs: the CA certificates (PEM) to trust instead of the system''s'
            cand --tls-cert 'For rediss:// URLs: a client certificate (PEM), for servers that require one'
            cand --tls-key 'The private key (PEM) of --tls-cert'
            cand --replicas 'Take and refresh a lock only once N replicas of the master have it (Redis WAIT), so that a failover right after keeps it; a lock they do not acknowledge in time is not taken (exit 125), a refresh they do not acknowledge failed [default: 0, do not wait]'
            cand --prefix 'Namespace of every key rlock writes ('''' locks the bare key, as other Redis lock libraries do)'
            cand -s 'Take a shared (read) lock: shared holders run together, a plain (exclusive) one alone; arrivals are served in order, so a waiting exclusive one is not starved'
            cand --shared 'Take a shared (read) lock: shared holders run together, a plain (exclusive) one alone; arrivals are served in order, so a waiting exclusive one is not starved'
            cand --cluster 'The --redis URLs are seed nodes of one Redis Cluster'
            cand -v 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
            cand --verbose 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
            cand -q 'Say nothing on stderr but errors'
            cand --quiet 'Say nothing on stderr but errors'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rlock;release'= {
            cand --limit 'Let at most N hold the lock at once (a semaphore); every rlock using the lock must give the same N [default: 1, exclusive]'
            cand -r 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters'
            cand --redis 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters'
            cand --tls-ca 'For rediss:// URLs: the CA certificates (PEM) to trust instead of the system''s'
            cand --tls-cert 'For rediss:// URLs: a client certificate (PEM), for servers that require one'
            cand --tls-key 'The private key (PEM) of --tls-cert'
            cand --replicas 'Take and refresh a lock only once N replicas of the master have it (Redis WAIT), so that a failover right after keeps it; a lock they do not acknowledge in time is not taken (exit 125), a refresh they do not acknowledge failed [default: 0, do not wait]'
            cand --prefix 'Namespace of every key rlock writes ('''' locks the bare key, as other Redis lock libraries do)'
            cand -s 'Take a shared (read) lock: shared holders run together, a plain (exclusive) one alone; arrivals are served in order, so a waiting exclusive one is not starved'
            cand --shared 'Take a shared (read) lock: shared holders run together, a plain (exclusive) one alone; arrivals are served in order, so a waiting exclusive one is not starved'
            cand --cluster 'The --redis URLs are seed nodes of one Redis Cluster'
            cand -v 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
            cand --verbose 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
            cand -q 'Say nothing on stderr but errors'
            cand --quiet 'Say nothing on stderr but errors'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rlock;ttl'= {
            cand -r 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters'
            cand --redis 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters'
            cand --tls-ca 'For rediss:// URLs: the CA certificates (PEM) to trust instead of the system''s'
            cand --tls-cert 'For rediss:// URLs: a client certificate (PEM), for servers that require one'
            cand --tls-key 'The private key (PEM) of --tls-cert'
            cand --replicas 'Take and refresh a lock only once N replicas of the master have it (Redis WAIT), so that a failover right after keeps it; a lock they do not acknowledge in time is not taken (exit 125), a refresh they do not acknowledge failed [default: 0, do not wait]'
            cand --prefix 'Namespace of every key rlock writes ('''' locks the bare key, as other Redis lock libraries do)'
            cand --ms 'Print whole milliseconds (-1 for a lock without expiry)'
            cand --json 'Print one JSON object, as status --json prints it'
            cand --cluster 'The --redis URLs are seed nodes of one Redis Cluster'
            cand -v 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
            cand --verbose 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
            cand -q 'Say nothing on stderr but errors'
            cand --quiet 'Say nothing on stderr but errors'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rlock;status'= {
            cand -r 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters'
            cand --redis 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters'
            cand --tls-ca 'For rediss:// URLs: the CA certificates (PEM) to trust instead of the system''s'
            cand --tls-cert 'For rediss:// URLs: a client certificate (PEM), for servers that require one'
            cand --tls-key 'The private key (PEM) of --tls-cert'
            cand --replicas 'Take and refresh a lock only once N replicas of the master have it (Redis WAIT), so that a failover right after keeps it; a lock they do not acknowledge in time is not taken (exit 125), a refresh they do not acknowledge failed [default: 0, do not wait]'
            cand --prefix 'Namespace of every key rlock writes ('''' locks the bare key, as other Redis lock libraries do)'
            cand --json 'Print one JSON object'
            cand --cluster 'The --redis URLs are seed nodes of one Redis Cluster'
            cand -v 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
            cand --verbose 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
            cand -q 'Say nothing on stderr but errors'
            cand --quiet 'Say nothing on stderr but errors'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rlock;break'= {
            cand -r 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters'
            cand --redis 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters'
            cand --tls-ca 'For rediss:// URLs: the CA certificates (PEM) to trust instead of the system''s'
            cand --tls-cert 'For rediss:// URLs: a client certificate (PEM), for servers that require one'
            cand --tls-key 'The private key (PEM) of --tls-cert'
            cand --replicas 'Take and refresh a lock only once N replicas of the master have it (Redis WAIT), so that a failover right after keeps it; a lock they do not acknowledge in time is not taken (exit 125), a refresh they do not acknowledge failed [default: 0, do not wait]'
            cand --prefix 'Namespace of every key rlock writes ('''' locks the bare key, as other Redis lock libraries do)'
            cand --cluster 'The --redis URLs are seed nodes of one Redis Cluster'
            cand -v 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
            cand --verbose 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
            cand -q 'Say nothing on stderr but errors'
            cand --quiet 'Say nothing on stderr but errors'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rlock;list'= {
            cand -r 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters'
            cand --redis 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters'
            cand --tls-ca 'For rediss:// URLs: the CA certificates (PEM) to trust instead of the system''s'
            cand --tls-cert 'For rediss:// URLs: a client certificate (PEM), for servers that require one'
            cand --tls-key 'The private key (PEM) of --tls-cert'
            cand --replicas 'Take and refresh a lock only once N replicas of the master have it (Redis WAIT), so that a failover right after keeps it; a lock they do not acknowledge in time is not taken (exit 125), a refresh they do not acknowledge failed [default: 0, do not wait]'
            cand --prefix 'Namespace of every key rlock writes ('''' locks the bare key, as other Redis lock libraries do)'
            cand --json 'Print one JSON object: {"version": 1, "locks": [...]}, each lock as status --json prints it'
            cand --cluster 'The --redis URLs are seed nodes of one Redis Cluster'
            cand -v 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
            cand --verbose 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
            cand -q 'Say nothing on stderr but errors'
            cand --quiet 'Say nothing on stderr but errors'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rlock;log'= {
            cand -n 'How many holds to show, the newest'
            cand --count 'How many holds to show, the newest'
            cand -r 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters'
            cand --redis 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters'
            cand --tls-ca 'For rediss:// URLs: the CA certificates (PEM) to trust instead of the system''s'
            cand --tls-cert 'For rediss:// URLs: a client certificate (PEM), for servers that require one'
            cand --tls-key 'The private key (PEM) of --tls-cert'
            cand --replicas 'Take and refresh a lock only once N replicas of the master have it (Redis WAIT), so that a failover right after keeps it; a lock they do not acknowledge in time is not taken (exit 125), a refresh they do not acknowledge failed [default: 0, do not wait]'
            cand --prefix 'Namespace of every key rlock writes ('''' locks the bare key, as other Redis lock libraries do)'
            cand --json 'Print one JSON object, its holds in "holds"'
            cand --cluster 'The --redis URLs are seed nodes of one Redis Cluster'
            cand -v 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
            cand --verbose 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
            cand -q 'Say nothing on stderr but errors'
            cand --quiet 'Say nothing on stderr but errors'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rlock;completions'= {
            cand -v 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
            cand --verbose 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
            cand -q 'Say nothing on stderr but errors'
            cand --quiet 'Say nothing on stderr but errors'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rlock;man'= {
            cand -v 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
            cand --verbose 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
            cand -q 'Say nothing on stderr but errors'
            cand --quiet 'Say nothing on stderr but errors'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'rlock;help'= {
            cand run 'Run a command while holding the lock KEY; exit with the command''s status'
            cand acquire 'Take the lock and print its token, for scripts that span several commands'
            cand refresh 'Extend a lock you hold (exit 1 when it is not yours or gone)'
            cand release 'Release a lock you hold (exit 1 when it is not yours or gone)'
            cand ttl 'Print the lock''s remaining lifetime, a line per holder, longest first (exit 1 when free)'
            cand status 'Show who holds the lock (every holder), since when, its ttl and fence, and who waits, in the order they will be served (exit 1 when free)'
            cand break 'Force-release a lock someone else holds, an operator''s tool (exit 1 when it was free)'
            cand list 'List the locks rlock holds now, a line per holder: name, holder, ttl, fence, waiting'
            cand log 'Show the lock''s last holds, newest last: when, who, how long, how each ended (exit 1 when it has none)'
            cand completions 'Print a shell completion script (bash, zsh, fish, elvish, powershell)'
            cand man 'Print the man page (roff): rlock man > rlock.1; man -l rlock.1'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'rlock;help;run'= {
        }
        &'rlock;help;acquire'= {
        }
        &'rlock;help;refresh'= {
        }
        &'rlock;help;release'= {
        }
        &'rlock;help;ttl'= {
        }
        &'rlock;help;status'= {
        }
        &'rlock;help;break'= {
        }
        &'rlock;help;list'= {
        }
        &'rlock;help;log'= {
        }
        &'rlock;help;completions'= {
        }
        &'rlock;help;man'= {
        }
        &'rlock;help;help'= {
        }
    ]
    $completions[$command]
}
