
# Added by rlock to clap's script: after 'rlock run ... --', complete the command and its
# arguments as bash would complete them on their own (with bash-completion's _command_offset when
# it is loaded, else command names, then file names).
_rlock_run_command() {
    local i run=0 dashes=0 start=0
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
            --) break ;;
            run) run=$i; break ;;
        esac
    done
    if ((run > 0)); then
        for ((i = run + 1; i < COMP_CWORD; i++)); do
            if [[ "${COMP_WORDS[i]}" == -- ]]; then dashes=$i; break; fi
        done
    fi
    if ((dashes > 0)); then
        start=$((dashes + 1))
        # rlock run -- -KEY -- COMMAND: a name that starts with '-' comes between two '--'.
        if [[ "${COMP_WORDS[start]}" == -* ]]; then
            if ((start + 1 < COMP_CWORD)) && [[ "${COMP_WORDS[start + 1]}" == -- ]]; then
                start=$((start + 2))
            else
                start=0
            fi
        fi
    fi
    if ((start == 0 || start > COMP_CWORD)); then
        _rlock "$@"
    elif declare -F _command_offset >/dev/null; then
        _command_offset "$start"
    elif ((start == COMP_CWORD)); then
        COMPREPLY=($(compgen -c -- "${COMP_WORDS[COMP_CWORD]}"))
    else
        COMPREPLY=($(compgen -f -- "${COMP_WORDS[COMP_CWORD]}"))
    fi
}

if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _rlock_run_command -o nosort -o bashdefault -o default rlock
else
    complete -F _rlock_run_command -o bashdefault -o default rlock
fi
