#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Builds the Debian package from a built tree (`make deb` runs it):
#   scripts/debian/build-deb.sh BUILD_DIR VERSION OUT_DIR
# writes OUT_DIR/xdpgate_VERSION_ARCH.deb from BUILD_DIR's xdpgated and
# xdpgate and the files of scripts/. Depends is what dpkg-shlibdeps reads
# from the binaries' dynamic libraries; the maintainer scripts use only
# essential packages, passwd (groupadd) and, where installed,
# init-system-helpers and iproute2. Run from the repository root.
#
# lintian (`lintian --fail-on error OUT_DIR/xdpgate_*.deb`, run by
# tests/integration/package_test.sh) reports no error. The warnings kept:
#   - no-manual-page usr/sbin/xdpgate-loadtest: the load-test tool's manual
#     is its --help (and the README); scripts/man holds the daemon's, the
#     CLI's and the configuration's.
#   - initial-upload-closes-no-bugs: the package is not uploaded to Debian,
#     so there is no ITP bug for its first changelog entry to close.
# Informational: hardening-no-bindnow and hardening-no-fortify-functions
# (the Makefile's flags, not dpkg-buildflags'), and
# package-supports-alternative-init-but-no-init.d-script (no init script:
# without systemd the operator starts xdpgated).
set -euo pipefail

build=$1 version=$2 out=$3
arch=$(dpkg --print-architecture)
deb=$out/xdpgate_${version}_$arch.deb
# The tree dpkg-shlibdeps expects: debian/control, and the package's root
# in debian/xdpgate.
stage=$build/deb/xdpgate_${version}_$arch
root=$stage/debian/xdpgate

rm -rf "$stage"
mkdir -p "$root/DEBIAN" "$out"

# inst MODE SOURCE DEST: DEST under the package's root, with its directories.
inst() { install -D -m "$1" "$2" "$root$3"; }

# The programs, stripped as dh_strip would (their debug information stays
# in BUILD_DIR).
inst 0755 "$build/xdpgated" /usr/sbin/xdpgated
inst 0755 "$build/xdpgate" /usr/bin/xdpgate
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
	"$root/usr/sbin/xdpgated" "$root/usr/bin/xdpgate"

# The unit, pointing at the package's paths instead of make install's.
mkdir -p "$root/lib/systemd/system"
sed 's|/usr/local/|/usr/|g' scripts/xdpgated.service >"$root/lib/systemd/system/xdpgated.service"
chmod 0644 "$root/lib/systemd/system/xdpgated.service"

inst 0644 scripts/debian/xdpgate.toml /etc/xdpgate/xdpgate.toml

# Manuals, compressed as Debian wants them (-n: no name or time stamp, so
# the same tree gives the same bytes).
for page in scripts/man/*.[1-8]; do
	section=${page##*.}
	inst 0644 "$page" "/usr/share/man/man$section/${page##*/}"
	gzip -9n "$root/usr/share/man/man$section/${page##*/}"
done
inst 0644 scripts/completion/xdpgate.bash /usr/share/bash-completion/completions/xdpgate

# The load-test tool keeps its layout (it runs scripts/loadtest/ beside
# itself); /usr/lib/xdpgate stands for the build directory it takes the
# daemon and the CLI from, and the wrapper passes it.
inst 0755 scripts/loadtest.sh /usr/share/xdpgate/scripts/loadtest.sh
for f in scripts/loadtest/*; do
	inst 0644 "$f" "/usr/share/xdpgate/scripts/loadtest/${f##*/}"
done
mkdir -p "$root/usr/lib/xdpgate"
ln -s ../../sbin/xdpgated "$root/usr/lib/xdpgate/xdpgated"
ln -s ../../bin/xdpgate "$root/usr/lib/xdpgate/xdpgate"
cat >"$root/usr/sbin/xdpgate-loadtest" <<'SH'
#!/bin/sh
# xdpgate-loadtest: scripts/loadtest.sh of the xdpgate package, run with the
# installed xdpgated and xdpgate; the report goes to the current directory
# unless --json-out says otherwise. See --help.
exec /usr/share/xdpgate/scripts/loadtest.sh --build /usr/lib/xdpgate \
	--json-out "$PWD/xdpgate-loadtest.json" "$@"
SH
chmod 0755 "$root/usr/sbin/xdpgate-loadtest"

# Prometheus rules, whichever exist.
for f in scripts/prometheus/*.yml; do
	if [ -e "$f" ]; then
		inst 0644 "$f" "/usr/share/xdpgate/prometheus/${f##*/}"
	fi
done

doc=/usr/share/doc/xdpgate
inst 0644 README.md $doc/README.md
inst 0644 scripts/debian/copyright $doc/copyright
# The changelog's newest entry is the package's version: a build of another
# version (make deb VERSION=...) gets an entry of its own.
{
	top=$(dpkg-parsechangelog -l scripts/debian/changelog -S Version)
	if [ "$top" != "$version" ]; then
		printf 'xdpgate (%s) UNRELEASED; urgency=medium\n\n' "$version"
		printf '  * Built from the source tree as version %s (make deb VERSION=...).\n\n' "$version"
		printf ' -- %s  %s\n\n' "$(dpkg-parsechangelog -l scripts/debian/changelog -S Maintainer)" \
			"$(dpkg-parsechangelog -l scripts/debian/changelog -S Date)"
	fi
	cat scripts/debian/changelog
} | gzip -9n >"$root$doc/changelog.Debian.gz"
chmod 0644 "$root$doc/changelog.Debian.gz"

for f in postinst prerm postrm; do
	install -m 0755 "scripts/debian/$f" "$root/DEBIAN/$f"
done
install -m 0644 scripts/debian/conffiles "$root/DEBIAN/conffiles"
(cd "$root" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -printf '%P\0' |
	LC_ALL=C sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums"

# dpkg-shlibdeps reads debian/control of the directory it runs in: a
# minimal one, in the staging tree.
printf 'Source: xdpgate\n\nPackage: xdpgate\nArchitecture: any\n' >"$stage/debian/control"
depends=$(cd "$stage" && dpkg-shlibdeps -O -edebian/xdpgate/usr/sbin/xdpgated \
	-edebian/xdpgate/usr/bin/xdpgate | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "build-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@INSTALLED_SIZE@|$size|" \
	-e "s|@DEPENDS@|$depends|" scripts/debian/control >"$root/DEBIAN/control"

# Only this version's package in OUT_DIR, so `dpkg -i build/xdpgate_*.deb`
# names one.
find "$out" -maxdepth 1 -name "xdpgate_*_$arch.deb" ! -name "${deb##*/}" -delete
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "  DEB      $deb"
