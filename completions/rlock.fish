# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_rlock_global_optspecs
    string join \n r/redis= cluster tls-ca= tls-cert= tls-key= replicas= prefix= v/verbose q/quiet h/help V/version
end

function __fish_rlock_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_rlock_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_rlock_using_subcommand
    set -l cmd (__fish_rlock_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c rlock -n "__fish_rlock_needs_command" -s r -l redis -d 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters' -r
complete -c rlock -n "__fish_rlock_needs_command" -l tls-ca -d 'For rediss:// URLs: the CA certificates (PEM) to trust instead of the system\'s' -r -F
complete -c rlock -n "__fish_rlock_needs_command" -l tls-cert -d 'For rediss:// URLs: a client certificate (PEM), for servers that require one' -r -F
complete -c rlock -n "__fish_rlock_needs_command" -l tls-key -d 'The private key (PEM) of --tls-cert' -r -F
complete -c rlock -n "__fish_rlock_needs_command" -l replicas -d 'Take and refresh a lock only once N replicas of the master have it (Redis WAIT), so that a failover right after keeps it; a lock they do not acknowledge in time is not taken (exit 125), a refresh they do not acknowledge failed [default: 0, do not wait]' -r
complete -c rlock -n "__fish_rlock_needs_command" -l prefix -d 'Namespace of every key rlock writes (\'\' locks the bare key, as other Redis lock libraries do)' -r
complete -c rlock -n "__fish_rlock_needs_command" -l cluster -d 'The --redis URLs are seed nodes of one Redis Cluster'
complete -c rlock -n "__fish_rlock_needs_command" -s v -l verbose -d 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
complete -c rlock -n "__fish_rlock_needs_command" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c rlock -n "__fish_rlock_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rlock -n "__fish_rlock_needs_command" -s V -l version -d 'Print version'
complete -c rlock -n "__fish_rlock_needs_command" -f -a "run" -d 'Run a command while holding the lock KEY; exit with the command\'s status'
complete -c rlock -n "__fish_rlock_needs_command" -f -a "acquire" -d 'Take the lock and print its token, for scripts that span several commands'
complete -c rlock -n "__fish_rlock_needs_command" -f -a "refresh" -d 'Extend a lock you hold (exit 1 when it is not yours or gone)'
complete -c rlock -n "__fish_rlock_needs_command" -f -a "release" -d 'Release a lock you hold (exit 1 when it is not yours or gone)'
complete -c rlock -n "__fish_rlock_needs_command" -f -a "ttl" -d 'Print the lock\'s remaining lifetime, a line per holder, longest first (exit 1 when free)'
complete -c rlock -n "__fish_rlock_needs_command" -f -a "status" -d 'Show who holds the lock (every holder), since when, its ttl and fence, and who waits, in the order they will be served (exit 1 when free)'
complete -c rlock -n "__fish_rlock_needs_command" -f -a "break" -d 'Force-release a lock someone else holds, an operator\'s tool (exit 1 when it was free)'
complete -c rlock -n "__fish_rlock_needs_command" -f -a "list" -d 'List the locks rlock holds now, a line per holder: name, holder, ttl, fence, waiting'
complete -c rlock -n "__fish_rlock_needs_command" -f -a "log" -d 'Show the lock\'s last holds, newest last: when, who, how long, how each ended (exit 1 when it has none)'
complete -c rlock -n "__fish_rlock_needs_command" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, elvish, powershell)'
complete -c rlock -n "__fish_rlock_needs_command" -f -a "man" -d 'Print the man page (roff): rlock man > rlock.1; man -l rlock.1'
complete -c rlock -n "__fish_rlock_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rlock -n "__fish_rlock_using_subcommand run; and not __fish_rlock_command_start" -s t -l ttl -d 'Lifetime of the lock; rlock refreshes it every ttl/3 while it holds it' -r
complete -c rlock -n "__fish_rlock_using_subcommand run; and not __fish_rlock_command_start" -s w -l wait -d 'Wait at most this long for a held lock [default: wait forever]' -r
complete -c rlock -n "__fish_rlock_using_subcommand run; and not __fish_rlock_command_start" -s E -l conflict-exit-code -d 'Exit with this code when the lock is not obtained' -r
complete -c rlock -n "__fish_rlock_using_subcommand run; and not __fish_rlock_command_start" -l limit -d 'Let at most N hold the lock at once (a semaphore); every rlock using the lock must give the same N [default: 1, exclusive]' -r
complete -c rlock -n "__fish_rlock_using_subcommand run; and not __fish_rlock_command_start" -l label -d 'Name this hold, as status, list and log show it (a CI job\'s URL, say): at most 200 characters, without control characters' -r
complete -c rlock -n "__fish_rlock_using_subcommand run; and not __fish_rlock_command_start" -l progress -d 'While waiting with stderr not a terminal, say who holds the lock, for how long, and our place in the queue when the wait starts and then this often (at least 1s); 0: never, nor the waiting line on a terminal [default: 30s]' -r
complete -c rlock -n "__fish_rlock_using_subcommand run; and not __fish_rlock_command_start" -l kill-grace -d 'Time between SIGTERM and SIGKILL when rlock must stop the command (lock lost or not refreshed in time); both come before the lock can lapse [default: 10s, or a third of a shorter ttl]' -r
complete -c rlock -n "__fish_rlock_using_subcommand run; and not __fish_rlock_command_start" -l timeout -d 'Stop the command once it has run this long (counted from its start, not the wait): SIGTERM to its group, SIGKILL after --kill-grace; the lock is released and rlock exits 123, whatever the command\'s status [default: no limit]' -r
complete -c rlock -n "__fish_rlock_using_subcommand run; and not __fish_rlock_command_start" -s r -l redis -d 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters' -r
complete -c rlock -n "__fish_rlock_using_subcommand run; and not __fish_rlock_command_start" -l tls-ca -d 'For rediss:// URLs: the CA certificates (PEM) to trust instead of the system\'s' -r -F
complete -c rlock -n "__fish_rlock_using_subcommand run; and not __fish_rlock_command_start" -l tls-cert -d 'For rediss:// URLs: a client certificate (PEM), for servers that require one' -r -F
complete -c rlock -n "__fish_rlock_using_subcommand run; and not __fish_rlock_command_start" -l tls-key -d 'The private key (PEM) of --tls-cert' -r -F
complete -c rlock -n "__fish_rlock_using_subcommand run; and not __fish_rlock_command_start" -l replicas -d 'Take and refresh a lock only once N replicas of the master have it (Redis WAIT), so that a failover right after keeps it; a lock they do not acknowledge in time is not taken (exit 125), a refresh they do not acknowledge failed [default: 0, do not wait]' -r
complete -c rlock -n "__fish_rlock_using_subcommand run; and not __fish_rlock_command_start" -l prefix -d 'Namespace of every key rlock writes (\'\' locks the bare key, as other Redis lock libraries do)' -r
complete -c rlock -n "__fish_rlock_using_subcommand run; and not __fish_rlock_command_start" -s n -l no-wait -d 'Do not wait: give up at once if the lock is held'
complete -c rlock -n "__fish_rlock_using_subcommand run; and not __fish_rlock_command_start" -s s -l shared -d 'Take a shared (read) lock: shared holders run together, a plain (exclusive) one alone; arrivals are served in order, so a waiting exclusive one is not starved'
complete -c rlock -n "__fish_rlock_using_subcommand run; and not __fish_rlock_command_start" -l cluster -d 'The --redis URLs are seed nodes of one Redis Cluster'
complete -c rlock -n "__fish_rlock_using_subcommand run; and not __fish_rlock_command_start" -s v -l verbose -d 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
complete -c rlock -n "__fish_rlock_using_subcommand run; and not __fish_rlock_command_start" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c rlock -n "__fish_rlock_using_subcommand run; and not __fish_rlock_command_start" -s h -l help -d 'Print help'
complete -c rlock -n "__fish_rlock_using_subcommand acquire" -s w -l wait -d 'Wait at most this long for a held lock [default: wait forever]' -r
complete -c rlock -n "__fish_rlock_using_subcommand acquire" -s E -l conflict-exit-code -d 'Exit with this code when the lock is not obtained' -r
complete -c rlock -n "__fish_rlock_using_subcommand acquire" -l limit -d 'Let at most N hold the lock at once (a semaphore); every rlock using the lock must give the same N [default: 1, exclusive]' -r
complete -c rlock -n "__fish_rlock_using_subcommand acquire" -l label -d 'Name this hold, as status, list and log show it (a CI job\'s URL, say): at most 200 characters, without control characters' -r
complete -c rlock -n "__fish_rlock_using_subcommand acquire" -l progress -d 'While waiting with stderr not a terminal, say who holds the lock, for how long, and our place in the queue when the wait starts and then this often (at least 1s); 0: never, nor the waiting line on a terminal [default: 30s]' -r
complete -c rlock -n "__fish_rlock_using_subcommand acquire" -s t -l ttl -d 'Lifetime of the lock: it is not refreshed, so refresh it (rlock refresh) or release it before then, or it lapses' -r
complete -c rlock -n "__fish_rlock_using_subcommand acquire" -s r -l redis -d 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters' -r
complete -c rlock -n "__fish_rlock_using_subcommand acquire" -l tls-ca -d 'For rediss:// URLs: the CA certificates (PEM) to trust instead of the system\'s' -r -F
complete -c rlock -n "__fish_rlock_using_subcommand acquire" -l tls-cert -d 'For rediss:// URLs: a client certificate (PEM), for servers that require one' -r -F
complete -c rlock -n "__fish_rlock_using_subcommand acquire" -l tls-key -d 'The private key (PEM) of --tls-cert' -r -F
complete -c rlock -n "__fish_rlock_using_subcommand acquire" -l replicas -d 'Take and refresh a lock only once N replicas of the master have it (Redis WAIT), so that a failover right after keeps it; a lock they do not acknowledge in time is not taken (exit 125), a refresh they do not acknowledge failed [default: 0, do not wait]' -r
complete -c rlock -n "__fish_rlock_using_subcommand acquire" -l prefix -d 'Namespace of every key rlock writes (\'\' locks the bare key, as other Redis lock libraries do)' -r
complete -c rlock -n "__fish_rlock_using_subcommand acquire" -s n -l no-wait -d 'Do not wait: give up at once if the lock is held'
complete -c rlock -n "__fish_rlock_using_subcommand acquire" -s s -l shared -d 'Take a shared (read) lock: shared holders run together, a plain (exclusive) one alone; arrivals are served in order, so a waiting exclusive one is not starved'
complete -c rlock -n "__fish_rlock_using_subcommand acquire" -l cluster -d 'The --redis URLs are seed nodes of one Redis Cluster'
complete -c rlock -n "__fish_rlock_using_subcommand acquire" -s v -l verbose -d 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
complete -c rlock -n "__fish_rlock_using_subcommand acquire" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c rlock -n "__fish_rlock_using_subcommand acquire" -s h -l help -d 'Print help'
complete -c rlock -n "__fish_rlock_using_subcommand refresh" -l limit -d 'Let at most N hold the lock at once (a semaphore); every rlock using the lock must give the same N [default: 1, exclusive]' -r
complete -c rlock -n "__fish_rlock_using_subcommand refresh" -s t -l ttl -d 'New lifetime of the lock, from now' -r
complete -c rlock -n "__fish_rlock_using_subcommand refresh" -s r -l redis -d 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters' -r
complete -c rlock -n "__fish_rlock_using_subcommand refresh" -l tls-ca -d 'For rediss:// URLs: the CA certificates (PEM) to trust instead of the system\'s' -r -F
complete -c rlock -n "__fish_rlock_using_subcommand refresh" -l tls-cert -d 'For rediss:// URLs: a client certificate (PEM), for servers that require one' -r -F
complete -c rlock -n "__fish_rlock_using_subcommand refresh" -l tls-key -d 'The private key (PEM) of --tls-cert' -r -F
complete -c rlock -n "__fish_rlock_using_subcommand refresh" -l replicas -d 'Take and refresh a lock only once N replicas of the master have it (Redis WAIT), so that a failover right after keeps it; a lock they do not acknowledge in time is not taken (exit 125), a refresh they do not acknowledge failed [default: 0, do not wait]' -r
complete -c rlock -n "__fish_rlock_using_subcommand refresh" -l prefix -d 'Namespace of every key rlock writes (\'\' locks the bare key, as other Redis lock libraries do)' -r
complete -c rlock -n "__fish_rlock_using_subcommand refresh" -s s -l shared -d 'Take a shared (read) lock: shared holders run together, a plain (exclusive) one alone; arrivals are served in order, so a waiting exclusive one is not starved'
complete -c rlock -n "__fish_rlock_using_subcommand refresh" -l cluster -d 'The --redis URLs are seed nodes of one Redis Cluster'
complete -c rlock -n "__fish_rlock_using_subcommand refresh" -s v -l verbose -d 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
complete -c rlock -n "__fish_rlock_using_subcommand refresh" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c rlock -n "__fish_rlock_using_subcommand refresh" -s h -l help -d 'Print help'
complete -c rlock -n "__fish_rlock_using_subcommand release" -l limit -d 'Let at most N hold the lock at once (a semaphore); every rlock using the lock must give the same N [default: 1, exclusive]' -r
complete -c rlock -n "__fish_rlock_using_subcommand release" -s r -l redis -d 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters' -r
complete -c rlock -n "__fish_rlock_using_subcommand release" -l tls-ca -d 'For rediss:// URLs: the CA certificates (PEM) to trust instead of the system\'s' -r -F
complete -c rlock -n "__fish_rlock_using_subcommand release" -l tls-cert -d 'For rediss:// URLs: a client certificate (PEM), for servers that require one' -r -F
complete -c rlock -n "__fish_rlock_using_subcommand release" -l tls-key -d 'The private key (PEM) of --tls-cert' -r -F
complete -c rlock -n "__fish_rlock_using_subcommand release" -l replicas -d 'Take and refresh a lock only once N replicas of the master have it (Redis WAIT), so that a failover right after keeps it; a lock they do not acknowledge in time is not taken (exit 125), a refresh they do not acknowledge failed [default: 0, do not wait]' -r
complete -c rlock -n "__fish_rlock_using_subcommand release" -l prefix -d 'Namespace of every key rlock writes (\'\' locks the bare key, as other Redis lock libraries do)' -r
complete -c rlock -n "__fish_rlock_using_subcommand release" -s s -l shared -d 'Take a shared (read) lock: shared holders run together, a plain (exclusive) one alone; arrivals are served in order, so a waiting exclusive one is not starved'
complete -c rlock -n "__fish_rlock_using_subcommand release" -l cluster -d 'The --redis URLs are seed nodes of one Redis Cluster'
complete -c rlock -n "__fish_rlock_using_subcommand release" -s v -l verbose -d 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
complete -c rlock -n "__fish_rlock_using_subcommand release" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c rlock -n "__fish_rlock_using_subcommand release" -s h -l help -d 'Print help'
complete -c rlock -n "__fish_rlock_using_subcommand ttl" -s r -l redis -d 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters' -r
complete -c rlock -n "__fish_rlock_using_subcommand ttl" -l tls-ca -d 'For rediss:// URLs: the CA certificates (PEM) to trust instead of the system\'s' -r -F
complete -c rlock -n "__fish_rlock_using_subcommand ttl" -l tls-cert -d 'For rediss:// URLs: a client certificate (PEM), for servers that require one' -r -F
complete -c rlock -n "__fish_rlock_using_subcommand ttl" -l tls-key -d 'The private key (PEM) of --tls-cert' -r -F
complete -c rlock -n "__fish_rlock_using_subcommand ttl" -l replicas -d 'Take and refresh a lock only once N replicas of the master have it (Redis WAIT), so that a failover right after keeps it; a lock they do not acknowledge in time is not taken (exit 125), a refresh they do not acknowledge failed [default: 0, do not wait]' -r
complete -c rlock -n "__fish_rlock_using_subcommand ttl" -l prefix -d 'Namespace of every key rlock writes (\'\' locks the bare key, as other Redis lock libraries do)' -r
complete -c rlock -n "__fish_rlock_using_subcommand ttl" -l ms -d 'Print whole milliseconds (-1 for a lock without expiry)'
complete -c rlock -n "__fish_rlock_using_subcommand ttl" -l json -d 'Print one JSON object, as status --json prints it'
complete -c rlock -n "__fish_rlock_using_subcommand ttl" -l cluster -d 'The --redis URLs are seed nodes of one Redis Cluster'
complete -c rlock -n "__fish_rlock_using_subcommand ttl" -s v -l verbose -d 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
complete -c rlock -n "__fish_rlock_using_subcommand ttl" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c rlock -n "__fish_rlock_using_subcommand ttl" -s h -l help -d 'Print help'
complete -c rlock -n "__fish_rlock_using_subcommand status" -s r -l redis -d 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters' -r
complete -c rlock -n "__fish_rlock_using_subcommand status" -l tls-ca -d 'For rediss:// URLs: the CA certificates (PEM) to trust instead of the system\'s' -r -F
complete -c rlock -n "__fish_rlock_using_subcommand status" -l tls-cert -d 'For rediss:// URLs: a client certificate (PEM), for servers that require one' -r -F
complete -c rlock -n "__fish_rlock_using_subcommand status" -l tls-key -d 'The private key (PEM) of --tls-cert' -r -F
complete -c rlock -n "__fish_rlock_using_subcommand status" -l replicas -d 'Take and refresh a lock only once N replicas of the master have it (Redis WAIT), so that a failover right after keeps it; a lock they do not acknowledge in time is not taken (exit 125), a refresh they do not acknowledge failed [default: 0, do not wait]' -r
complete -c rlock -n "__fish_rlock_using_subcommand status" -l prefix -d 'Namespace of every key rlock writes (\'\' locks the bare key, as other Redis lock libraries do)' -r
complete -c rlock -n "__fish_rlock_using_subcommand status" -l json -d 'Print one JSON object'
complete -c rlock -n "__fish_rlock_using_subcommand status" -l cluster -d 'The --redis URLs are seed nodes of one Redis Cluster'
complete -c rlock -n "__fish_rlock_using_subcommand status" -s v -l verbose -d 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
complete -c rlock -n "__fish_rlock_using_subcommand status" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c rlock -n "__fish_rlock_using_subcommand status" -s h -l help -d 'Print help'
complete -c rlock -n "__fish_rlock_using_subcommand break" -s r -l redis -d 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters' -r
complete -c rlock -n "__fish_rlock_using_subcommand break" -l tls-ca -d 'For rediss:// URLs: the CA certificates (PEM) to trust instead of the system\'s' -r -F
complete -c rlock -n "__fish_rlock_using_subcommand break" -l tls-cert -d 'For rediss:// URLs: a client certificate (PEM), for servers that require one' -r -F
complete -c rlock -n "__fish_rlock_using_subcommand break" -l tls-key -d 'The private key (PEM) of --tls-cert' -r -F
complete -c rlock -n "__fish_rlock_using_subcommand break" -l replicas -d 'Take and refresh a lock only once N replicas of the master have it (Redis WAIT), so that a failover right after keeps it; a lock they do not acknowledge in time is not taken (exit 125), a refresh they do not acknowledge failed [default: 0, do not wait]' -r
complete -c rlock -n "__fish_rlock_using_subcommand break" -l prefix -d 'Namespace of every key rlock writes (\'\' locks the bare key, as other Redis lock libraries do)' -r
complete -c rlock -n "__fish_rlock_using_subcommand break" -l cluster -d 'The --redis URLs are seed nodes of one Redis Cluster'
complete -c rlock -n "__fish_rlock_using_subcommand break" -s v -l verbose -d 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
complete -c rlock -n "__fish_rlock_using_subcommand break" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c rlock -n "__fish_rlock_using_subcommand break" -s h -l help -d 'Print help'
complete -c rlock -n "__fish_rlock_using_subcommand list" -s r -l redis -d 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters' -r
complete -c rlock -n "__fish_rlock_using_subcommand list" -l tls-ca -d 'For rediss:// URLs: the CA certificates (PEM) to trust instead of the system\'s' -r -F
complete -c rlock -n "__fish_rlock_using_subcommand list" -l tls-cert -d 'For rediss:// URLs: a client certificate (PEM), for servers that require one' -r -F
complete -c rlock -n "__fish_rlock_using_subcommand list" -l tls-key -d 'The private key (PEM) of --tls-cert' -r -F
complete -c rlock -n "__fish_rlock_using_subcommand list" -l replicas -d 'Take and refresh a lock only once N replicas of the master have it (Redis WAIT), so that a failover right after keeps it; a lock they do not acknowledge in time is not taken (exit 125), a refresh they do not acknowledge failed [default: 0, do not wait]' -r
complete -c rlock -n "__fish_rlock_using_subcommand list" -l prefix -d 'Namespace of every key rlock writes (\'\' locks the bare key, as other Redis lock libraries do)' -r
complete -c rlock -n "__fish_rlock_using_subcommand list" -l json -d 'Print one JSON object: {"version": 1, "locks": [...]}, each lock as status --json prints it'
complete -c rlock -n "__fish_rlock_using_subcommand list" -l cluster -d 'The --redis URLs are seed nodes of one Redis Cluster'
complete -c rlock -n "__fish_rlock_using_subcommand list" -s v -l verbose -d 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
complete -c rlock -n "__fish_rlock_using_subcommand list" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c rlock -n "__fish_rlock_using_subcommand list" -s h -l help -d 'Print help'
complete -c rlock -n "__fish_rlock_using_subcommand log" -s n -l count -d 'How many holds to show, the newest' -r
complete -c rlock -n "__fish_rlock_using_subcommand log" -s r -l redis -d 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters' -r
complete -c rlock -n "__fish_rlock_using_subcommand log" -l tls-ca -d 'For rediss:// URLs: the CA certificates (PEM) to trust instead of the system\'s' -r -F
complete -c rlock -n "__fish_rlock_using_subcommand log" -l tls-cert -d 'For rediss:// URLs: a client certificate (PEM), for servers that require one' -r -F
complete -c rlock -n "__fish_rlock_using_subcommand log" -l tls-key -d 'The private key (PEM) of --tls-cert' -r -F
complete -c rlock -n "__fish_rlock_using_subcommand log" -l replicas -d 'Take and refresh a lock only once N replicas of the master have it (Redis WAIT), so that a failover right after keeps it; a lock they do not acknowledge in time is not taken (exit 125), a refresh they do not acknowledge failed [default: 0, do not wait]' -r
complete -c rlock -n "__fish_rlock_using_subcommand log" -l prefix -d 'Namespace of every key rlock writes (\'\' locks the bare key, as other Redis lock libraries do)' -r
complete -c rlock -n "__fish_rlock_using_subcommand log" -l json -d 'Print one JSON object, its holds in "holds"'
complete -c rlock -n "__fish_rlock_using_subcommand log" -l cluster -d 'The --redis URLs are seed nodes of one Redis Cluster'
complete -c rlock -n "__fish_rlock_using_subcommand log" -s v -l verbose -d 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
complete -c rlock -n "__fish_rlock_using_subcommand log" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c rlock -n "__fish_rlock_using_subcommand log" -s h -l help -d 'Print help'
complete -c rlock -n "__fish_rlock_using_subcommand completions" -s v -l verbose -d 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
complete -c rlock -n "__fish_rlock_using_subcommand completions" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c rlock -n "__fish_rlock_using_subcommand completions" -s h -l help -d 'Print help'
complete -c rlock -n "__fish_rlock_using_subcommand man" -s v -l verbose -d 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis'
complete -c rlock -n "__fish_rlock_using_subcommand man" -s q -l quiet -d 'Say nothing on stderr but errors'
complete -c rlock -n "__fish_rlock_using_subcommand man" -s h -l help -d 'Print help'
complete -c rlock -n "__fish_rlock_using_subcommand help; and not __fish_seen_subcommand_from run acquire refresh release ttl status break list log completions man help" -f -a "run" -d 'Run a command while holding the lock KEY; exit with the command\'s status'
complete -c rlock -n "__fish_rlock_using_subcommand help; and not __fish_seen_subcommand_from run acquire refresh release ttl status break list log completions man help" -f -a "acquire" -d 'Take the lock and print its token, for scripts that span several commands'
complete -c rlock -n "__fish_rlock_using_subcommand help; and not __fish_seen_subcommand_from run acquire refresh release ttl status break list log completions man help" -f -a "refresh" -d 'Extend a lock you hold (exit 1 when it is not yours or gone)'
complete -c rlock -n "__fish_rlock_using_subcommand help; and not __fish_seen_subcommand_from run acquire refresh release ttl status break list log completions man help" -f -a "release" -d 'Release a lock you hold (exit 1 when it is not yours or gone)'
complete -c rlock -n "__fish_rlock_using_subcommand help; and not __fish_seen_subcommand_from run acquire refresh release ttl status break list log completions man help" -f -a "ttl" -d 'Print the lock\'s remaining lifetime, a line per holder, longest first (exit 1 when free)'
complete -c rlock -n "__fish_rlock_using_subcommand help; and not __fish_seen_subcommand_from run acquire refresh release ttl status break list log completions man help" -f -a "status" -d 'Show who holds the lock (every holder), since when, its ttl and fence, and who waits, in the order they will be served (exit 1 when free)'
complete -c rlock -n "__fish_rlock_using_subcommand help; and not __fish_seen_subcommand_from run acquire refresh release ttl status break list log completions man help" -f -a "break" -d 'Force-release a lock someone else holds, an operator\'s tool (exit 1 when it was free)'
complete -c rlock -n "__fish_rlock_using_subcommand help; and not __fish_seen_subcommand_from run acquire refresh release ttl status break list log completions man help" -f -a "list" -d 'List the locks rlock holds now, a line per holder: name, holder, ttl, fence, waiting'
complete -c rlock -n "__fish_rlock_using_subcommand help; and not __fish_seen_subcommand_from run acquire refresh release ttl status break list log completions man help" -f -a "log" -d 'Show the lock\'s last holds, newest last: when, who, how long, how each ended (exit 1 when it has none)'
complete -c rlock -n "__fish_rlock_using_subcommand help; and not __fish_seen_subcommand_from run acquire refresh release ttl status break list log completions man help" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, elvish, powershell)'
complete -c rlock -n "__fish_rlock_using_subcommand help; and not __fish_seen_subcommand_from run acquire refresh release ttl status break list log completions man help" -f -a "man" -d 'Print the man page (roff): rlock man > rlock.1; man -l rlock.1'
complete -c rlock -n "__fish_rlock_using_subcommand help; and not __fish_seen_subcommand_from run acquire refresh release ttl status break list log completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'

# Added by rlock to clap's script. After 'rlock run ... --': the command and its arguments, as
# fish completes them on their own (rlock's options are not offered there). Prints the index in
# `commandline -opc` of the command's first word, or fails when the cursor is not in the command.
function __fish_rlock_command_start
    set -l words (commandline -opc)
    set -l run 0
    for i in (seq 2 (count $words))
        switch $words[$i]
            case --
                return 1
            case run
                set run $i
                break
        end
    end
    test $run -gt 0; or return 1
    for i in (seq (math $run + 1) (count $words))
        if test "$words[$i]" = --
            set -l start (math $i + 1)
            # rlock run -- -KEY -- COMMAND: a name that starts with '-' comes between two '--'.
            if set -q words[$start]; and string match -q -- '-*' $words[$start]
                set -l second (math $start + 1)
                set -q words[$second]; and test "$words[$second]" = --; or return 1
                set start (math $start + 2)
            else if not set -q words[$start]; and string match -q -- '-*' (commandline -ct)
                return 1
            end
            echo $start
            return 0
        end
    end
    return 1
end

function __fish_rlock_complete_command
    set -l words (commandline -opc)
    set -l start (__fish_rlock_command_start); or return
    if test $start -le (count $words)
        complete -C (string join -- ' ' (string escape -- $words[$start..-1]) (commandline -ct))
    else
        complete -C (commandline -ct)
    end
end

complete -c rlock -n __fish_rlock_command_start -f -a '(__fish_rlock_complete_command)'
complete -c rlock -n "__fish_rlock_using_subcommand completions" -f -a "bash elvish fish powershell zsh"
