# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Bounded waits for the scripts and tests: sourced by netns-lib.sh and by the
# tests that start a daemon of their own.

# Usage: xg_wait_exit PID SECONDS -> PID's exit status, once it exits. A
# wait on a daemon must not hang a test: still running after SECONDS, it is
# named, killed, and the status is 124. PID must be a child of this shell.
xg_wait_exit() {
	local pid=$1 seconds=$2 i state
	for ((i = 0; i < seconds * 10; i++)); do
		# The state follows the command name's closing parenthesis; a
		# zombie (Z) has exited and waits only to be reaped.
		state=$(sed -n 's/^.*) \(.\).*/\1/p' "/proc/$pid/stat" 2>/dev/null)
		if [ -z "$state" ] || [ "$state" = Z ]; then
			# (braces: keep bash's "Killed" job notice out of the output)
			{ wait "$pid"; } 2>/dev/null
			return
		fi
		sleep 0.1
	done
	echo "# $(cat "/proc/$pid/comm" 2>/dev/null) (pid $pid) still ran" \
		"${seconds} s after it was told to stop; killing it" >&2
	kill -KILL "$pid" 2>/dev/null
	{ wait "$pid"; } 2>/dev/null
	return 124
}

# Usage: xg_wait_until SECONDS COMMAND... -> 0 once COMMAND succeeds (tried
# every 0.2 s), 1 when SECONDS pass first.
xg_wait_until() {
	local seconds=$1 i
	shift
	for ((i = 0; i < seconds * 5; i++)); do
		"$@" && return 0
		sleep 0.2
	done
	return 1
}
