# Purpose: bash completion for rootlesskit, rootlessctl and rootless-setuptool (rootlesskit-cpp).
# Installed once per command name under bash-completion's completions directory, which loads
# this file the first time one of them is completed. Flag names come from the command's own
# --help, so they follow the binary; the values of enumerated flags are listed here.

# The flags that "$@" --help lists (long and short forms).
_rootlesskit_cpp_flags() {
    "$@" --help 2>/dev/null | grep -oE -- '(^|[[:space:],])--?[a-zA-Z][a-zA-Z0-9-]*' |
        sed 's/^[[:space:],]*//' | sort -u
}

# The flags of "$@" that take a value ("--net value" in urfave/cli-style help).
_rootlesskit_cpp_value_flags() {
    "$@" --help 2>/dev/null | grep -oE -- '--?[a-zA-Z][a-zA-Z0-9-]* value' | cut -d' ' -f1
}

_rootlesskit() {
    local cur prev words cword split
    _init_completion -s || return
    case $prev in
    --net) COMPREPLY=($(compgen -W "host none auto pasta slirp4netns vpnkit lxc-user-nic gvisor-tap-vsock" -- "$cur")) ;;
    --port-driver) COMPREPLY=($(compgen -W "none implicit builtin slirp4netns gvisor-tap-vsock" -- "$cur")) ;;
    --propagation) COMPREPLY=($(compgen -W "private rprivate shared rshared slave rslave" -- "$cur")) ;;
    --copy-up-mode) COMPREPLY=($(compgen -W "tmpfs+symlink" -- "$cur")) ;;
    --slirp4netns-sandbox | --slirp4netns-seccomp | --reaper) COMPREPLY=($(compgen -W "auto true false" -- "$cur")) ;;
    --subid-source) COMPREPLY=($(compgen -W "auto dynamic static" -- "$cur")) ;;
    --print-semver) COMPREPLY=($(compgen -W "major minor patch" -- "$cur")) ;;
    --state-dir | --copy-up | --evacuate-cgroup2) _filedir -d ;;
    --*-binary) _filedir ;;
    --mtu | --cidr | --ifname | --lxc-user-nic-bridge | --publish | -p) ;;
    *) false ;;
    esac && return
    # After the first word that is neither a flag nor a flag's value: the command and its own
    # arguments.
    local value_flags i
    value_flags=" $(_rootlesskit_cpp_value_flags "$1" | tr '\n' ' ') "
    for ((i = 1; i < cword; i++)); do
        [[ ${words[i]} == -* ]] && continue
        [[ $value_flags == *" ${words[i - 1]} "* && ${words[i - 1]} != *=* ]] && continue
        _command_offset "$i"
        return
    done
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_rootlesskit_cpp_flags "$1")" -- "$cur"))
        return
    fi
    COMPREPLY=($(compgen -c -- "$cur"))
}
complete -F _rootlesskit rootlesskit

_rootlessctl() {
    local cur prev words cword split
    _init_completion -s || return
    case $prev in
    --socket) _filedir sock; return ;;
    esac
    local i command=
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
        list-ports | add-ports | remove-ports | info) command=${words[i]}; break ;;
        esac
    done
    if [[ -z $command ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "--socket --debug --help --version" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "list-ports add-ports remove-ports info help" -- "$cur"))
        fi
    elif [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_rootlesskit_cpp_flags "$1" "$command")" -- "$cur"))
    fi
}
complete -F _rootlessctl rootlessctl

_rootless_setuptool() {
    local cur prev words cword split
    _init_completion -s || return
    local i sub=
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
        check | install | uninstall | nsenter) sub=${words[i]}; break ;;
        esac
    done
    if [[ -z $sub ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "--help --version" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "check install uninstall nsenter" -- "$cur"))
        fi
        return
    fi
    if [[ $sub == nsenter ]]; then
        for ((i = i + 1; i < cword; i++)); do
            if [[ ${words[i]} == -- ]]; then
                _command_offset $((i + 1))
                return
            fi
        done
    fi
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_rootlesskit_cpp_flags "$1" "$sub")" -- "$cur"))
    elif [[ $sub == install || $sub == uninstall ]]; then
        COMPREPLY=($(compgen -W "dockerd containerd buildkitd" -- "$cur"))
    fi
}
complete -F _rootless_setuptool rootless-setuptool
