
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
