#!/bin/sh
# Installs warden on this host: the binary, the OCF agents of agents/, the
# fence agents of fencing/, the systemd unit and the example configuration.
# Idempotent: run it again after an upgrade. An existing
# /etc/warden/warden.toml is never replaced.
#
#   sh contrib/install.sh                   # into /, as root
#   DESTDIR=/tmp/pkg sh contrib/install.sh  # into a staging tree (packages)
#
# Variables:
#   DESTDIR     staging root (default: none, i.e. /)
#   PREFIX      where the binary and fence agents go (default: /usr):
#               $PREFIX/sbin/warden, $PREFIX/sbin/fence_*
#   WARDEN_BIN  the binary to install (default: target/release/warden,
#               built by `cargo build --release`)
# Fixed places: OCF agents in /usr/lib/ocf/resource.d/<provider>/ (the OCF
# root every agent and manager uses), the unit in /lib/systemd/system/, the
# configuration in /etc/warden/, the state in /var/lib/warden/.
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr}
WARDEN_BIN=${WARDEN_BIN:-$here/target/release/warden}
# The provider name of the OCF agents shipped in agents/.
OCF_PROVIDER=opennebula

say() { printf '%s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

[ -x "$WARDEN_BIN" ] || die "no warden binary at $WARDEN_BIN: run 'cargo build --release' first, or set WARDEN_BIN"
case $PREFIX in
  /*) ;;
  *) die "PREFIX must be an absolute path, not '$PREFIX'" ;;
esac

sbin=$DESTDIR$PREFIX/sbin
ocf=$DESTDIR/usr/lib/ocf/resource.d/$OCF_PROVIDER
unitdir=$DESTDIR/lib/systemd/system
etc=$DESTDIR/etc/warden
doc=$DESTDIR$PREFIX/share/doc/warden
state=$DESTDIR/var/lib/warden

install -d -m 0755 "$sbin" "$ocf" "$unitdir" "$etc" "$doc"
install -m 0755 "$WARDEN_BIN" "$sbin/warden"
say "installed $sbin/warden"

# Agents are the executable files; the shared helper they source stays
# 0644 beside them so that agent listings (executables only) skip it.
for f in "$here"/agents/*; do
  name=$(basename "$f")
  case $name in
    *.md) continue ;;
  esac
  if [ -x "$f" ]; then
    install -m 0755 "$f" "$ocf/$name"
  else
    install -m 0644 "$f" "$ocf/$name"
  fi
done
say "installed the OCF agents in $ocf"

for f in "$here"/fencing/fence_*; do
  [ -f "$f" ] || continue
  install -m 0755 "$f" "$sbin/$(basename "$f")"
done
say "installed the fence agents of fencing/ in $sbin"

# The unit runs the binary where PREFIX put it.
sed "s|^ExecStart=/usr/sbin/warden |ExecStart=$PREFIX/sbin/warden |" \
  "$here/contrib/warden.service" >"$unitdir/warden.service.tmp"
chmod 0644 "$unitdir/warden.service.tmp"
mv "$unitdir/warden.service.tmp" "$unitdir/warden.service"
say "installed $unitdir/warden.service"

install -m 0644 "$here/examples/warden.toml" "$doc/warden.toml.example"
if [ -e "$etc/warden.toml" ]; then
  say "kept $etc/warden.toml (the example is in $doc/warden.toml.example)"
else
  install -m 0644 "$here/examples/warden.toml" "$etc/warden.toml"
  say "installed $etc/warden.toml"
fi

install -d -m 0750 "$state"
chmod 0750 "$state"
say "state directory $state (0750)"

if [ -n "$DESTDIR" ]; then
  say "note: DESTDIR is set: the haclient group is not created (create it when installing the package)"
elif [ "$(id -u)" != 0 ]; then
  say "note: not root: the haclient group is not created (as root: groupadd --system haclient)"
elif getent group haclient >/dev/null 2>&1; then
  say "group haclient exists"
else
  groupadd --system haclient
  say "created the group haclient"
fi

if [ -z "$DESTDIR" ] && [ "$(id -u)" = 0 ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  say "systemd reloaded; next: warden cluster setup (see README.md)"
fi
