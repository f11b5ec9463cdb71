
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'rlock' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'rlock'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'rlock' {
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters')
            [CompletionResult]::new('--redis', '--redis', [CompletionResultType]::ParameterName, 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters')
            [CompletionResult]::new('--tls-ca', '--tls-ca', [CompletionResultType]::ParameterName, 'For rediss:// URLs: the CA certificates (PEM) to trust instead of the system''s')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'For rediss:// URLs: a client certificate (PEM), for servers that require one')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'The private key (PEM) of --tls-cert')
            [CompletionResult]::new('--replicas', '--replicas', [CompletionResultType]::ParameterName, 'Take and refresh a lock only once N replicas of the master have it (Redis WAIT), so that a failover right after keeps it; a lock they do not acknowledge in time is not taken (exit 125), a refresh they do not acknowledge failed [default: 0, do not wait]')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Namespace of every key rlock writes ('''' locks the bare key, as other Redis lock libraries do)')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'The --redis URLs are seed nodes of one Redis Cluster')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing on stderr but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run a command while holding the lock KEY; exit with the command''s status')
            [CompletionResult]::new('acquire', 'acquire', [CompletionResultType]::ParameterValue, 'Take the lock and print its token, for scripts that span several commands')
            [CompletionResult]::new('refresh', 'refresh', [CompletionResultType]::ParameterValue, 'Extend a lock you hold (exit 1 when it is not yours or gone)')
            [CompletionResult]::new('release', 'release', [CompletionResultType]::ParameterValue, 'Release a lock you hold (exit 1 when it is not yours or gone)')
            [CompletionResult]::new('ttl', 'ttl', [CompletionResultType]::ParameterValue, 'Print the lock''s remaining lifetime, a line per holder, longest first (exit 1 when free)')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show who holds the lock (every holder), since when, its ttl and fence, and who waits, in the order they will be served (exit 1 when free)')
            [CompletionResult]::new('break', 'break', [CompletionResultType]::ParameterValue, 'Force-release a lock someone else holds, an operator''s tool (exit 1 when it was free)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the locks rlock holds now, a line per holder: name, holder, ttl, fence, waiting')
            [CompletionResult]::new('log', 'log', [CompletionResultType]::ParameterValue, 'Show the lock''s last holds, newest last: when, who, how long, how each ended (exit 1 when it has none)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script (bash, zsh, fish, elvish, powershell)')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff): rlock man > rlock.1; man -l rlock.1')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'rlock;run' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Lifetime of the lock; rlock refreshes it every ttl/3 while it holds it')
            [CompletionResult]::new('--ttl', '--ttl', [CompletionResultType]::ParameterName, 'Lifetime of the lock; rlock refreshes it every ttl/3 while it holds it')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Wait at most this long for a held lock [default: wait forever]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Wait at most this long for a held lock [default: wait forever]')
            [CompletionResult]::new('-E', '-E ', [CompletionResultType]::ParameterName, 'Exit with this code when the lock is not obtained')
            [CompletionResult]::new('--conflict-exit-code', '--conflict-exit-code', [CompletionResultType]::ParameterName, 'Exit with this code when the lock is not obtained')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Let at most N hold the lock at once (a semaphore); every rlock using the lock must give the same N [default: 1, exclusive]')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'Name this hold, as status, list and log show it (a CI job''s URL, say): at most 200 characters, without control characters')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'While waiting with stderr not a terminal, say who holds the lock, for how long, and our place in the queue when the wait starts and then this often (at least 1s); 0: never, nor the waiting line on a terminal [default: 30s]')
            [CompletionResult]::new('--kill-grace', '--kill-grace', [CompletionResultType]::ParameterName, 'Time between SIGTERM and SIGKILL when rlock must stop the command (lock lost or not refreshed in time); both come before the lock can lapse [default: 10s, or a third of a shorter ttl]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Stop the command once it has run this long (counted from its start, not the wait): SIGTERM to its group, SIGKILL after --kill-grace; the lock is released and rlock exits 123, whatever the command''s status [default: no limit]')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters')
            [CompletionResult]::new('--redis', '--redis', [CompletionResultType]::ParameterName, 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters')
            [CompletionResult]::new('--tls-ca', '--tls-ca', [CompletionResultType]::ParameterName, 'For rediss:// URLs: the CA certificates (PEM) to trust instead of the system''s')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'For rediss:// URLs: a client certificate (PEM), for servers that require one')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'The private key (PEM) of --tls-cert')
            [CompletionResult]::new('--replicas', '--replicas', [CompletionResultType]::ParameterName, 'Take and refresh a lock only once N replicas of the master have it (Redis WAIT), so that a failover right after keeps it; a lock they do not acknowledge in time is not taken (exit 125), a refresh they do not acknowledge failed [default: 0, do not wait]')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Namespace of every key rlock writes ('''' locks the bare key, as other Redis lock libraries do)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Do not wait: give up at once if the lock is held')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Do not wait: give up at once if the lock is held')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Take a shared (read) lock: shared holders run together, a plain (exclusive) one alone; arrivals are served in order, so a waiting exclusive one is not starved')
            [CompletionResult]::new('--shared', '--shared', [CompletionResultType]::ParameterName, 'Take a shared (read) lock: shared holders run together, a plain (exclusive) one alone; arrivals are served in order, so a waiting exclusive one is not starved')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'The --redis URLs are seed nodes of one Redis Cluster')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing on stderr but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rlock;acquire' {
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Wait at most this long for a held lock [default: wait forever]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Wait at most this long for a held lock [default: wait forever]')
            [CompletionResult]::new('-E', '-E ', [CompletionResultType]::ParameterName, 'Exit with this code when the lock is not obtained')
            [CompletionResult]::new('--conflict-exit-code', '--conflict-exit-code', [CompletionResultType]::ParameterName, 'Exit with this code when the lock is not obtained')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Let at most N hold the lock at once (a semaphore); every rlock using the lock must give the same N [default: 1, exclusive]')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'Name this hold, as status, list and log show it (a CI job''s URL, say): at most 200 characters, without control characters')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'While waiting with stderr not a terminal, say who holds the lock, for how long, and our place in the queue when the wait starts and then this often (at least 1s); 0: never, nor the waiting line on a terminal [default: 30s]')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Lifetime of the lock: it is not refreshed, so refresh it (rlock refresh) or release it before then, or it lapses')
            [CompletionResult]::new('--ttl', '--ttl', [CompletionResultType]::ParameterName, 'Lifetime of the lock: it is not refreshed, so refresh it (rlock refresh) or release it before then, or it lapses')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters')
            [CompletionResult]::new('--redis', '--redis', [CompletionResultType]::ParameterName, 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters')
            [CompletionResult]::new('--tls-ca', '--tls-ca', [CompletionResultType]::ParameterName, 'For rediss:// URLs: the CA certificates (PEM) to trust instead of the system''s')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'For rediss:// URLs: a client certificate (PEM), for servers that require one')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'The private key (PEM) of --tls-cert')
            [CompletionResult]::new('--replicas', '--replicas', [CompletionResultType]::ParameterName, 'Take and refresh a lock only once N replicas of the master have it (Redis WAIT), so that a failover right after keeps it; a lock they do not acknowledge in time is not taken (exit 125), a refresh they do not acknowledge failed [default: 0, do not wait]')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Namespace of every key rlock writes ('''' locks the bare key, as other Redis lock libraries do)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Do not wait: give up at once if the lock is held')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Do not wait: give up at once if the lock is held')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Take a shared (read) lock: shared holders run together, a plain (exclusive) one alone; arrivals are served in order, so a waiting exclusive one is not starved')
            [CompletionResult]::new('--shared', '--shared', [CompletionResultType]::ParameterName, 'Take a shared (read) lock: shared holders run together, a plain (exclusive) one alone; arrivals are served in order, so a waiting exclusive one is not starved')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'The --redis URLs are seed nodes of one Redis Cluster')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing on stderr but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rlock;refresh' {
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Let at most N hold the lock at once (a semaphore); every rlock using the lock must give the same N [default: 1, exclusive]')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'New lifetime of the lock, from now')
            [CompletionResult]::new('--ttl', '--ttl', [CompletionResultType]::ParameterName, 'New lifetime of the lock, from now')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters')
            [CompletionResult]::new('--redis', '--redis', [CompletionResultType]::ParameterName, 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters')
            [CompletionResult]::new('--tls-ca', '--tls-ca', [CompletionResultType]::ParameterName, 'For rediss:// URLs: the CA certificates (PEM) to trust instead of the system''s')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'For rediss:// URLs: a client certificate (PEM), for servers that require one')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'The private key (PEM) of --tls-cert')
            [CompletionResult]::new('--replicas', '--replicas', [CompletionResultType]::ParameterName, 'Take and refresh a lock only once N replicas of the master have it (Redis WAIT), so that a failover right after keeps it; a lock they do not acknowledge in time is not taken (exit 125), a refresh they do not acknowledge failed [default: 0, do not wait]')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Namespace of every key rlock writes ('''' locks the bare key, as other Redis lock libraries do)')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Take a shared (read) lock: shared holders run together, a plain (exclusive) one alone; arrivals are served in order, so a waiting exclusive one is not starved')
            [CompletionResult]::new('--shared', '--shared', [CompletionResultType]::ParameterName, 'Take a shared (read) lock: shared holders run together, a plain (exclusive) one alone; arrivals are served in order, so a waiting exclusive one is not starved')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'The --redis URLs are seed nodes of one Redis Cluster')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing on stderr but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rlock;release' {
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Let at most N hold the lock at once (a semaphore); every rlock using the lock must give the same N [default: 1, exclusive]')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters')
            [CompletionResult]::new('--redis', '--redis', [CompletionResultType]::ParameterName, 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters')
            [CompletionResult]::new('--tls-ca', '--tls-ca', [CompletionResultType]::ParameterName, 'For rediss:// URLs: the CA certificates (PEM) to trust instead of the system''s')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'For rediss:// URLs: a client certificate (PEM), for servers that require one')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'The private key (PEM) of --tls-cert')
            [CompletionResult]::new('--replicas', '--replicas', [CompletionResultType]::ParameterName, 'Take and refresh a lock only once N replicas of the master have it (Redis WAIT), so that a failover right after keeps it; a lock they do not acknowledge in time is not taken (exit 125), a refresh they do not acknowledge failed [default: 0, do not wait]')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Namespace of every key rlock writes ('''' locks the bare key, as other Redis lock libraries do)')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Take a shared (read) lock: shared holders run together, a plain (exclusive) one alone; arrivals are served in order, so a waiting exclusive one is not starved')
            [CompletionResult]::new('--shared', '--shared', [CompletionResultType]::ParameterName, 'Take a shared (read) lock: shared holders run together, a plain (exclusive) one alone; arrivals are served in order, so a waiting exclusive one is not starved')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'The --redis URLs are seed nodes of one Redis Cluster')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing on stderr but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rlock;ttl' {
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters')
            [CompletionResult]::new('--redis', '--redis', [CompletionResultType]::ParameterName, 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters')
            [CompletionResult]::new('--tls-ca', '--tls-ca', [CompletionResultType]::ParameterName, 'For rediss:// URLs: the CA certificates (PEM) to trust instead of the system''s')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'For rediss:// URLs: a client certificate (PEM), for servers that require one')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'The private key (PEM) of --tls-cert')
            [CompletionResult]::new('--replicas', '--replicas', [CompletionResultType]::ParameterName, 'Take and refresh a lock only once N replicas of the master have it (Redis WAIT), so that a failover right after keeps it; a lock they do not acknowledge in time is not taken (exit 125), a refresh they do not acknowledge failed [default: 0, do not wait]')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Namespace of every key rlock writes ('''' locks the bare key, as other Redis lock libraries do)')
            [CompletionResult]::new('--ms', '--ms', [CompletionResultType]::ParameterName, 'Print whole milliseconds (-1 for a lock without expiry)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object, as status --json prints it')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'The --redis URLs are seed nodes of one Redis Cluster')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing on stderr but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rlock;status' {
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters')
            [CompletionResult]::new('--redis', '--redis', [CompletionResultType]::ParameterName, 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters')
            [CompletionResult]::new('--tls-ca', '--tls-ca', [CompletionResultType]::ParameterName, 'For rediss:// URLs: the CA certificates (PEM) to trust instead of the system''s')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'For rediss:// URLs: a client certificate (PEM), for servers that require one')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'The private key (PEM) of --tls-cert')
            [CompletionResult]::new('--replicas', '--replicas', [CompletionResultType]::ParameterName, 'Take and refresh a lock only once N replicas of the master have it (Redis WAIT), so that a failover right after keeps it; a lock they do not acknowledge in time is not taken (exit 125), a refresh they do not acknowledge failed [default: 0, do not wait]')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Namespace of every key rlock writes ('''' locks the bare key, as other Redis lock libraries do)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'The --redis URLs are seed nodes of one Redis Cluster')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing on stderr but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rlock;break' {
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters')
            [CompletionResult]::new('--redis', '--redis', [CompletionResultType]::ParameterName, 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters')
            [CompletionResult]::new('--tls-ca', '--tls-ca', [CompletionResultType]::ParameterName, 'For rediss:// URLs: the CA certificates (PEM) to trust instead of the system''s')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'For rediss:// URLs: a client certificate (PEM), for servers that require one')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'The private key (PEM) of --tls-cert')
            [CompletionResult]::new('--replicas', '--replicas', [CompletionResultType]::ParameterName, 'Take and refresh a lock only once N replicas of the master have it (Redis WAIT), so that a failover right after keeps it; a lock they do not acknowledge in time is not taken (exit 125), a refresh they do not acknowledge failed [default: 0, do not wait]')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Namespace of every key rlock writes ('''' locks the bare key, as other Redis lock libraries do)')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'The --redis URLs are seed nodes of one Redis Cluster')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing on stderr but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rlock;list' {
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters')
            [CompletionResult]::new('--redis', '--redis', [CompletionResultType]::ParameterName, 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters')
            [CompletionResult]::new('--tls-ca', '--tls-ca', [CompletionResultType]::ParameterName, 'For rediss:// URLs: the CA certificates (PEM) to trust instead of the system''s')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'For rediss:// URLs: a client certificate (PEM), for servers that require one')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'The private key (PEM) of --tls-cert')
            [CompletionResult]::new('--replicas', '--replicas', [CompletionResultType]::ParameterName, 'Take and refresh a lock only once N replicas of the master have it (Redis WAIT), so that a failover right after keeps it; a lock they do not acknowledge in time is not taken (exit 125), a refresh they do not acknowledge failed [default: 0, do not wait]')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Namespace of every key rlock writes ('''' locks the bare key, as other Redis lock libraries do)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object: {"version": 1, "locks": [...]}, each lock as status --json prints it')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'The --redis URLs are seed nodes of one Redis Cluster')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing on stderr but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rlock;log' {
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'How many holds to show, the newest')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'How many holds to show, the newest')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters')
            [CompletionResult]::new('--redis', '--redis', [CompletionResultType]::ParameterName, 'Redis server URL: redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://... (TLS), unix:///PATH/TO/SOCKET, or redis+sentinel://[USER:PASSWORD@]HOST[:PORT]/SERVICE once per Sentinel. Several redis:// URLs: a quorum of independent masters')
            [CompletionResult]::new('--tls-ca', '--tls-ca', [CompletionResultType]::ParameterName, 'For rediss:// URLs: the CA certificates (PEM) to trust instead of the system''s')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'For rediss:// URLs: a client certificate (PEM), for servers that require one')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'The private key (PEM) of --tls-cert')
            [CompletionResult]::new('--replicas', '--replicas', [CompletionResultType]::ParameterName, 'Take and refresh a lock only once N replicas of the master have it (Redis WAIT), so that a failover right after keeps it; a lock they do not acknowledge in time is not taken (exit 125), a refresh they do not acknowledge failed [default: 0, do not wait]')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Namespace of every key rlock writes ('''' locks the bare key, as other Redis lock libraries do)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object, its holds in "holds"')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'The --redis URLs are seed nodes of one Redis Cluster')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing on stderr but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rlock;completions' {
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing on stderr but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rlock;man' {
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr: -v what happens to the lock, -vv every refresh and step of the wait, -vvv every call to Redis')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say nothing on stderr but errors')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'rlock;help' {
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run a command while holding the lock KEY; exit with the command''s status')
            [CompletionResult]::new('acquire', 'acquire', [CompletionResultType]::ParameterValue, 'Take the lock and print its token, for scripts that span several commands')
            [CompletionResult]::new('refresh', 'refresh', [CompletionResultType]::ParameterValue, 'Extend a lock you hold (exit 1 when it is not yours or gone)')
            [CompletionResult]::new('release', 'release', [CompletionResultType]::ParameterValue, 'Release a lock you hold (exit 1 when it is not yours or gone)')
            [CompletionResult]::new('ttl', 'ttl', [CompletionResultType]::ParameterValue, 'Print the lock''s remaining lifetime, a line per holder, longest first (exit 1 when free)')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show who holds the lock (every holder), since when, its ttl and fence, and who waits, in the order they will be served (exit 1 when free)')
            [CompletionResult]::new('break', 'break', [CompletionResultType]::ParameterValue, 'Force-release a lock someone else holds, an operator''s tool (exit 1 when it was free)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the locks rlock holds now, a line per holder: name, holder, ttl, fence, waiting')
            [CompletionResult]::new('log', 'log', [CompletionResultType]::ParameterValue, 'Show the lock''s last holds, newest last: when, who, how long, how each ended (exit 1 when it has none)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script (bash, zsh, fish, elvish, powershell)')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff): rlock man > rlock.1; man -l rlock.1')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'rlock;help;run' {
            break
        }
        'rlock;help;acquire' {
            break
        }
        'rlock;help;refresh' {
            break
        }
        'rlock;help;release' {
            break
        }
        'rlock;help;ttl' {
            break
        }
        'rlock;help;status' {
            break
        }
        'rlock;help;break' {
            break
        }
        'rlock;help;list' {
            break
        }
        'rlock;help;log' {
            break
        }
        'rlock;help;completions' {
            break
        }
        'rlock;help;man' {
            break
        }
        'rlock;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
