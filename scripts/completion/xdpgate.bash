# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# bash completion for xdpgate(8): subcommands, their options, files where a
# file is expected, and entry ids where an id is, asked of the daemon with
# `xdpgate --json list --all` (nothing when it cannot be reached within 2 s).
# Needs no bash-completion helpers. tests/integration/completion_test.sh
# holds the lists below to `xdpgate --help`.

_xdpgate_commands="list get add update delete enable disable check import
export replace activate deactivate confirm status stats audit denied fleet"

_xdpgate_global_options="-h --help --socket --json"

# Options that take a value (the next word).
_xdpgate_valued="--socket -d --description --expires-at --range -o --output
--confirm-within -i --interval -n --count --limit --offset --top --for"

_xdpgate_takes_value() {
	local option
	for option in $_xdpgate_valued; do
		[ "$option" = "$1" ] && return 0
	done
	return 1
}

# _xdpgate_options_of SUBCOMMAND: its own options.
_xdpgate_options_of() {
	# Every command that changes the list or the restriction takes these.
	local change="--dry-run -y --yes"
	case $1 in
	list) echo "-a --all" ;;
	add) echo "-d --description --disabled --expires-at --force $change" ;;
	update) echo "--range -d --description --no-description --enable
		--disable --expires-at --no-expiry --force $change" ;;
	delete) echo "--all --force $change" ;;
	enable) echo "$change" ;;
	disable) echo "--force $change" ;;
	import) echo "--replace --force $change" ;;
	export) echo "-o --output" ;;
	replace) echo "--force $change" ;;
	activate) echo "--monitor --allow-empty --confirm-within $change" ;;
	deactivate) echo "$change" ;;
	stats) echo "-w --watch -i --interval -n --count" ;;
	audit) echo "--limit --offset" ;;
	denied) echo "--top -f --follow -n --count --for" ;;
	esac
}

# _xdpgate_ids CLI [--socket PATH]: the ids of every entry, one a line.
_xdpgate_ids() {
	local cli=$1
	shift
	timeout 2 "$cli" "$@" --json list --all 2>/dev/null |
		grep -o '"id": *"[A-Za-z0-9_.-]*"' |
		sed 's/^"id": *"//; s/"$//'
}

_xdpgate() {
	local cli=$1 cur prev
	local words=("${COMP_WORDS[@]:0:COMP_CWORD+1}")
	local cword=$COMP_CWORD
	COMPREPLY=()

	# With "=" among the word breaks, --socket=/run/x arrives as three words.
	cur=${words[cword]}
	prev=${words[cword - 1]:-}
	if [ "$cur" = "=" ]; then
		cur=""
	elif [ "$prev" = "=" ] && [ "$cword" -ge 2 ]; then
		prev=${words[cword - 2]}
	fi

	# The subcommand, the operands after it, and a --socket to ask through.
	local command="" operands=0 socket=() i word
	for ((i = 1; i < cword; i++)); do
		word=${words[i]}
		[ "$word" = "=" ] && continue
		if _xdpgate_takes_value "$word"; then
			[ "${words[i + 1]:-}" = "=" ] && i=$((i + 1))
			i=$((i + 1))
			[ "$word" = "--socket" ] && [ "$i" -lt "$cword" ] &&
				socket=(--socket "${words[i]}")
			continue
		fi
		case $word in
		--socket=*) socket=(--socket "${word#--socket=}") ;;
		-*) ;;
		*)
			if [ -z "$command" ]; then
				command=$word
			else
				operands=$((operands + 1))
			fi
			;;
		esac
	done

	case $prev in
	--socket | -o | --output)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return 0
		;;
	esac
	if _xdpgate_takes_value "$prev"; then
		return 0 # a value of the operator's own: a range, a time, a number
	fi

	if [[ $cur == -* ]]; then
		local options=$_xdpgate_global_options
		[ -n "$command" ] && options+=" $(_xdpgate_options_of "$command")"
		mapfile -t COMPREPLY < <(compgen -W "$options" -- "$cur")
		return 0
	fi

	if [ -z "$command" ]; then
		mapfile -t COMPREPLY < <(compgen -W "$_xdpgate_commands" -- "$cur")
		return 0
	fi

	[ "$operands" -eq 0 ] || return 0
	case $command in
	get | update | delete | enable | disable)
		mapfile -t COMPREPLY < <(compgen -W "$(_xdpgate_ids "$cli" "${socket[@]}")" -- "$cur")
		;;
	import | replace)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		;;
	esac
	return 0
}

complete -F _xdpgate xdpgate
