#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Every arrow points down: a folder of userspace/ includes only folders of a
# lower layer (README.md, "Layout"). Prints each include that breaks this and
# fails; run by `make format-check` (and so by CI).
set -euo pipefail
cd "$(dirname "$0")/.."

# Layer of each folder; include/xdpgate (the BPF ABI) is layer 0.
declare -A layer=(
	[xdpgate]=0
	[common]=1
	[net]=2 [etcd]=2
	[model]=3
	[config]=4 [store]=4 [links]=4
	[list]=5
	[datapath]=6 [api]=6
	[daemon]=7 [cli]=7
)

status=0
for dir in userspace/*/; do
	folder=$(basename "$dir")
	if [[ -z "${layer[$folder]:-}" ]]; then
		echo "scripts/check-layers.sh: userspace/$folder has no layer; add it here and to README.md's layout table"
		status=1
		continue
	fi
	while IFS=: read -r file line text; do
		target=$(sed -E 's/^#include "([a-z_]+)\/.*/\1/' <<<"$text")
		[[ "$target" == "$folder" ]] && continue
		if [[ -z "${layer[$target]:-}" ]]; then
			echo "$file:$line: includes $target/, which has no layer"
			status=1
		elif ((layer[$target] >= layer[$folder])); then
			echo "$file:$line: $folder/ (layer ${layer[$folder]}) includes $target/ (layer ${layer[$target]}): an arrow up or sideways"
			status=1
		fi
	done < <(grep -Hn '^#include "[a-z_]*/' "$dir"*.cpp "$dir"*.hpp 2>/dev/null || true)
done
exit $status
