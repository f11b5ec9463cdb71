# zsh -f zsh-complete.zsh FPATH_DIR LINE: prints, one per line, what zsh's completion system offers
# for LINE (typed into an interactive zsh on a pseudo-terminal, then TAB), with the completion
# functions of FPATH_DIR. Gives up after 10 seconds.
zmodload zsh/zpty || exit 2
zpty z zsh -f -i
zpty -w z "PS1= PROMPT= RPROMPT=; fpath=($1 \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z "zstyle ':completion:*' list-grouped false; zstyle ':completion:*' insert-tab false"
# Every candidate goes through compadd: print each (the markers are split so that zsh's echo of
# these lines does not contain them), and stop once the completion is over.
zpty -w z 'compadd () {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi
  typeset -a __hits; builtin compadd -A __hits "$@"; local ret=$?
  local h; for h in $__hits; do print -r -- "<""hit>$h"; done; return $ret }'
zpty -w z 'comppostfuncs=(finish); finish () { print -r -- "<""end>"; exit }'
zpty -w z "$2"$'\t'
local line deadline=$(( SECONDS + 10 ))
while (( SECONDS < deadline )); do
  if ! zpty -r -t z line; then sleep 0.05; continue; fi
  [[ $line == *'<end>'* ]] && break
  [[ $line == *'<hit>'* ]] && print -r -- ${${line##*<hit>}%%$'\r'}
done
zpty -d z
