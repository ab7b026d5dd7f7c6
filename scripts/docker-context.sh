#!/usr/bin/env bash
# Assembles the root filesystem of the GhostPanel image in dist/image/ (the Dockerfile copies it into
# an empty `FROM scratch` image, so the build needs no registry):
#   /usr/local/bin/ghostpanel     the compiled executable (default dist/ghostpanel, or $1)
#   the shared libraries `ldd` lists for it, at the paths it lists, and the dynamic loader
#   /etc/ssl/certs/ca-certificates.crt, a minimal /etc/passwd, /etc/group, /etc/nsswitch.conf
#   /tmp (1777) and /data (the volume)
# The executable is dynamically linked against glibc, so it must be one this machine can run (ldd):
# build an arm64 image on an arm64 machine.
set -euo pipefail

cd "$(dirname "$0")/.."
BIN=${1:-dist/ghostpanel}
OUT=${GHOSTPANEL_IMAGE_ROOT:-dist/image}
CA=${GHOSTPANEL_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

[ -f "$BIN" ] || { echo "docker-context: $BIN is missing: run \`npm run build\` first" >&2; exit 1; }
[ -f "$CA" ] || { echo "docker-context: $CA is missing (apt-get install ca-certificates)" >&2; exit 1; }

libs=$(ldd "$BIN") || { echo "docker-context: ldd $BIN failed (not an executable for this machine?)" >&2; exit 1; }
if grep -q "not found" <<<"$libs"; then
  echo "docker-context: $BIN needs libraries this machine lacks:" >&2
  grep "not found" <<<"$libs" >&2
  exit 1
fi
# "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" or "/lib64/ld-linux-x86-64.so.2 (0x…)";
# linux-vdso.so.1 is provided by the kernel and has no file.
mapfile -t paths < <(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$libs" | sort -u)
interp=$(readelf -l "$BIN" 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
if [ -n "$interp" ] && ! printf '%s\n' "${paths[@]}" | grep -qx "$interp"; then paths+=("$interp"); fi

rm -rf "$OUT"
mkdir -p "$OUT/usr/local/bin" "$OUT/etc/ssl/certs" "$OUT/tmp" "$OUT/data"
cp "$BIN" "$OUT/usr/local/bin/ghostpanel"
chmod 0755 "$OUT/usr/local/bin/ghostpanel"
for p in "${paths[@]}"; do
  mkdir -p "$OUT$(dirname "$p")"
  cp -L "$p" "$OUT$p" # the file itself, not the host's symlink chain (/lib -> usr/lib on Debian)
done
cp -L "$CA" "$OUT/etc/ssl/certs/ca-certificates.crt"
# Not needed to start (HOME and the user come from Docker), but keeps getpwuid() and tools honest.
printf 'root:x:0:0:root:/data:/usr/local/bin/ghostpanel\nnobody:x:65534:65534:nobody:/nonexistent:/usr/local/bin/ghostpanel\n' \
  >"$OUT/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$OUT/etc/group"
# glibc's built-in files and dns sources; hosts: /etc/hosts first (docker run --add-host), then DNS
# (/etc/resolv.conf, mounted by Docker).
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$OUT/etc/nsswitch.conf"
chmod 1777 "$OUT/tmp"
chmod 0755 "$OUT/data"

size=$(du -sh "$OUT" | cut -f1)
echo "docker-context: $OUT ($size): $(basename "$BIN") + ${#paths[@]} libraries (${paths[*]})"
echo "docker-context: now run: docker build -t ghostpanel ."
