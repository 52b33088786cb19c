#!/bin/sh
# The Debian package of this build, taken apart without installing it: what lands where, the
# conffile, the maintainer scripts, the Depends that dpkg-shlibdeps computed, the units' paths,
# and lintian without errors. (scripts/test-package installs it for real.)
#   package_contents.sh CPACK BUILD_DIR VERSION
set -eu
cpack=$1 build=$2 version=$3
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
fail() { echo "FAILED: $*" >&2; exit 1; }

# Its own output directory, so a package built by hand in the build directory is left alone.
if ! "$cpack" --config "$build/CPackConfig.cmake" -B "$scratch/out" >"$scratch/cpack.log" 2>&1; then
  cat "$scratch/cpack.log" >&2
  fail "cpack failed"
fi
deb="$scratch/out/qonversion-etl_${version}_$(dpkg --print-architecture).deb"
[ -f "$deb" ] || fail "cpack made no $(basename "$deb"): $(ls "$scratch/out")"
dpkg-deb -c "$deb" >"$scratch/contents"
dpkg-deb -x "$deb" "$scratch/root"
dpkg-deb -e "$deb" "$scratch/control"
field() { dpkg-deb -f "$deb" "$1"; }

[ "$(field Package)" = qonversion-etl ] || fail "Package: $(field Package)"
[ "$(field Version)" = "$version" ] || fail "Version: $(field Version), the project is $version"
depends=$(field Depends)
for dependency in systemd ca-certificates libc6 libcurl4 libpqxx-6.4 libsqlite3-0 libstdc++6; do
  echo "$depends" | tr ',' '\n' | sed 's/^ *//; s/ .*//' | grep -qx -- "$dependency" ||
    fail "Depends lacks $dependency: $depends"
done

# path, mode: every file the package must hold, owned by root.
while read -r path mode; do
  grep -q -- "^$mode root/root .* \./$path\$" "$scratch/contents" ||
    fail "no $mode root/root ./$path in the package: $(grep -- "\./$path\$" "$scratch/contents" || echo absent)"
done <<'LIST'
usr/bin/qonversion-etl -rwxr-xr-x
lib/systemd/system/qonversion-etl.service -rw-r--r--
lib/systemd/system/qonversion-etl.timer -rw-r--r--
lib/systemd/system/qonversion-etl@.service -rw-r--r--
lib/systemd/system/qonversion-etl@.timer -rw-r--r--
etc/qonversion-etl/config.toml -rw-r--r--
usr/share/qonversion-etl/config.toml -rw-r--r--
usr/share/qonversion-etl/postgres/001_initial.sql -rw-r--r--
usr/share/qonversion-etl/sqlite/001_initial.sql -rw-r--r--
usr/share/qonversion-etl/monitoring/qonversion-etl.rules.yml -rw-r--r--
usr/share/qonversion-etl/dbt/sources.yml -rw-r--r--
usr/share/qonversion-etl/dbt/README.md -rw-r--r--
usr/share/doc/qonversion-etl/copyright -rw-r--r--
usr/share/doc/qonversion-etl/changelog.gz -rw-r--r--
usr/share/doc/qonversion-etl/README.md -rw-r--r--
LIST
if grep -v ' root/root ' "$scratch/contents"; then fail "files not owned by root/root (above)"; fi
if grep -q '\./usr/lib/systemd/' "$scratch/contents"; then fail "units in /usr/lib/systemd: Debian 12 keeps them in /lib/systemd/system"; fi
if grep -q '_CPack_Packages\|install-staging' "$scratch/root/lib/systemd/system/"*; then fail "a unit names a build path"; fi
grep -qx 'ExecStart=/usr/bin/qonversion-etl run --resume --config /etc/qonversion-etl/config.toml' \
  "$scratch/root/lib/systemd/system/qonversion-etl.service" || fail "qonversion-etl.service's ExecStart is not /usr/bin/qonversion-etl ... /etc/qonversion-etl/config.toml"
cmp -s "$scratch/root/etc/qonversion-etl/config.toml" "$scratch/root/usr/share/qonversion-etl/config.toml" ||
  fail "/etc/qonversion-etl/config.toml differs from the reference copy in /usr/share/qonversion-etl"
gzip -t "$scratch/root/usr/share/doc/qonversion-etl/changelog.gz" || fail "changelog.gz is not gzip"
file "$scratch/root/usr/bin/qonversion-etl" | grep -q ', stripped' || fail "the binary is not stripped: $(file "$scratch/root/usr/bin/qonversion-etl")"

[ "$(cat "$scratch/control/conffiles")" = /etc/qonversion-etl/config.toml ] ||
  fail "conffiles: $(cat "$scratch/control/conffiles")"
for script in postinst prerm postrm; do
  [ "$(stat -c %a "$scratch/control/$script")" = 755 ] || fail "$script is mode $(stat -c %a "$scratch/control/$script")"
  sh -n "$scratch/control/$script" || fail "$script is not valid sh"
done
# Nothing enabled or started by the package: that stays the operator's choice.
if grep -v '^[[:space:]]*#' "$scratch/control/postinst" |
   grep -E 'systemctl[^#]*(enable|start)|deb-systemd-(helper enable|invoke start)'; then
  fail "postinst enables or starts a unit"
fi

lintian --fail-on error "$deb" || fail "lintian found errors"
echo "$(basename "$deb"): $(wc -l <"$scratch/contents") entries, Depends: $depends"
