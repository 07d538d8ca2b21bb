#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The bash completion of xdpgate (scripts/completion/xdpgate.bash), sourced
# and called as bash calls it (COMP_WORDS, COMP_CWORD), with no daemon: it
# offers exactly the subcommands of `xdpgate --help` and, after each, exactly
# the long options of its --help and the global ones; files where a file is
# expected, nothing where the operator types a value; entry ids from
# `xdpgate --json list --all` (a stand-in CLI answers), through a --socket
# given on the line; and nothing, quietly and promptly, when the daemon
# cannot be reached. XDPGATE_BUILD names the build directory (default build).
set -u
cd "$(dirname "$0")/../.." || exit 1
XG_BUILD=${XDPGATE_BUILD:-build}
REAL_CLI=$PWD/$XG_BUILD/xdpgate

TMP=$(mktemp -d /tmp/xdpgate-completion.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

. tests/integration/common.bash
. scripts/completion/xdpgate.bash

# completions WORD...: what completing the last WORD of "xdpgate WORD..."
# offers, sorted, one a line. CLI is the command the completion runs.
CLI=$REAL_CLI
completions() {
	COMP_WORDS=(xdpgate "$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="${COMP_WORDS[*]}"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_xdpgate "$CLI" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	[ ${#COMPREPLY[@]} -eq 0 ] || printf '%s\n' "${COMPREPLY[@]}" | sort -u
}
lines() { printf '%s\n' "$@"; }

# help_section TEXT SECTION: the first words of a CLI11 help section.
help_section() {
	sed -n "/^$2:\$/,/^\$/p" <<<"$1" | grep -E '^  [^ ]' | awk '{ print $1 }'
}
# long_options HELP_TEXT: its --options, one a line.
long_options() {
	help_section "$1" Options | tr ',' '\n' | grep -E '^--'
}

# valued_options HELP_TEXT: its options that take a value (a type follows).
valued_options() {
	sed -n '/^Options:$/,/^$/p' <<<"$1" | grep -E '^  -[^ ]+ [A-Z]+([: ]|$)' |
		awk '{ print $1 }' | tr ',' '\n'
}

check "the completion is registered for xdpgate" \
	[ "$(complete -p xdpgate)" = "complete -F _xdpgate xdpgate" ]

top_help=$("$REAL_CLI" --help)
commands=$(help_section "$top_help" Subcommands | sort)
check "xdpgate --help lists subcommands" [ -n "$commands" ]
check_same "an empty word: every subcommand of xdpgate --help" \
	"$commands" "$(completions "")"
check_same "a prefix: the subcommands it begins" \
	"$(lines stats status)" "$(completions st)"
check_same "after a global option: still the subcommands" \
	"list" "$(completions --json li)"
check_same "an option's prefix" "--confirm-within" "$(completions activate --c)"
check_same "global options before a subcommand" \
	"$(long_options "$top_help" | sort)" "$(completions --)"

valued=$(valued_options "$top_help")
for command in $commands; do
	help=$("$REAL_CLI" "$command" --help)
	expected=$( (
		long_options "$top_help"
		long_options "$help"
	) | sort -u)
	check_same "xdpgate $command --: the options of its --help and the global ones" \
		"$expected" "$(completions "$command" --)"
	valued+=$'\n'$(valued_options "$help")
done
# An option's value is not taken for an operand (an id would be offered).
# shellcheck disable=SC2086 # one option a word
check_same "the options that take a value: those of every --help" \
	"$(sed '/^$/d' <<<"$valued" | sort -u)" "$(lines $_xdpgate_valued | sort -u)"

check_same "no guess for a value the operator types" \
	"" "$(completions add 192.0.2.0/24 --description "")"
check_same "nothing after a range" "" "$(completions add 192.0.2.0/24 "")"

mkdir "$TMP/files" && touch "$TMP/files/allow.csv" "$TMP/files/list.json"
check_same "import: files" "$(lines allow.csv list.json)" \
	"$(cd "$TMP/files" && completions import "")"
check_same "--socket: files" "allow.csv" \
	"$(cd "$TMP/files" && completions --socket al)"
check_same "export -o: files" "list.json" \
	"$(cd "$TMP/files" && completions export -o li)"

# A stand-in for xdpgate that answers `--json list --all` as the CLI prints
# it and records its arguments. A description that holds "id" text is no id.
mkdir "$TMP/bin"
cat >"$TMP/bin/xdpgate" <<EOF
#!/bin/sh
echo "\$@" >"$TMP/args"
cat <<'JSON'
{
  "items": [
    {
      "created_at": 1735689600000,
      "description": "vendor \\"id\\": \\"ip_fake\\"",
      "enabled": true,
      "id": "ip_3kq9x2m7ab",
      "ip_range": "203.0.113.0/24"
    },
    {
      "description": null,
      "enabled": false,
      "id": "ip_7wz01bc4de",
      "ip_range": "2001:db8::/48"
    }
  ],
  "restriction_active": false,
  "total": 2
}
JSON
EOF
chmod +x "$TMP/bin/xdpgate"
CLI=$TMP/bin/xdpgate
check_same "get: the ids of every entry, disabled ones too" \
	"$(lines ip_3kq9x2m7ab ip_7wz01bc4de)" "$(completions get "")"
check_same "enable: the ids a prefix begins" \
	"ip_7wz01bc4de" "$(completions enable ip_7)"
check_same "delete: ids after an option" \
	"ip_3kq9x2m7ab" "$(completions delete --force ip_3)"
check_same "asked with --json list --all" "--json list --all" "$(cat "$TMP/args")"
completions --socket /run/xg-b.sock update "" >/dev/null
check_same "asked through the --socket on the line" \
	"--socket /run/xg-b.sock --json list --all" "$(cat "$TMP/args")"
completions --socket=/run/xg-c.sock update "" >/dev/null
check_same "asked through --socket=PATH" \
	"--socket /run/xg-c.sock --json list --all" "$(cat "$TMP/args")"
completions --socket = /run/xg-d.sock update "" >/dev/null
check_same "asked through --socket=PATH as bash splits it at =" \
	"--socket /run/xg-d.sock --json list --all" "$(cat "$TMP/args")"
check_same "one id only" "" "$(completions get ip_3kq9x2m7ab "")"
check_same "an id after an option's value" \
	"ip_3kq9x2m7ab" "$(completions update --range 192.0.2.0/24 ip_3)"

# The real CLI, with no daemon at the socket.
CLI=$REAL_CLI
start=$SECONDS
got=$(XDPGATE_SOCKET=$TMP/absent.sock completions get "" 2>"$TMP/stderr")
check_same "no daemon: no ids" "" "$got"
check "no daemon: nothing on stderr" not [ -s "$TMP/stderr" ]
check "no daemon: answers within 3 s" [ $((SECONDS - start)) -le 3 ]

[ "$failures" -eq 0 ]
