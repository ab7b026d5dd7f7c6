#!/usr/bin/env bash
# Brings up everything the tests need on a fresh Debian 12 machine, and nothing when it is already
# there: Debian's docker.io (dockerd), busybox-static turned into a local image, Chromium for the
# browser tests. Idempotent: safe to run before every test run.
set -euo pipefail

SOCK=${GHOSTPANEL_TEST_SOCKET:-/var/run/docker.sock}
IMAGE=${GHOSTPANEL_TEST_IMAGE:-ghostpanel-test/busybox:latest}
LOG=${GHOSTPANEL_DOCKERD_LOG:-/var/log/ghostpanel-dockerd.log}

need=()
command -v dockerd >/dev/null || need+=(docker.io)
[ -x /bin/busybox ] || [ -x /usr/bin/busybox ] || need+=(busybox-static)
command -v chromium >/dev/null || need+=(chromium)
command -v ip >/dev/null || need+=(iproute2)
command -v curl >/dev/null || need+=(curl ca-certificates)
# Tests make certificates with openssl and end process trees with pkill.
command -v openssl >/dev/null || need+=(openssl)
command -v pkill >/dev/null || need+=(procps)
# Registry tests run Debian's docker-registry (distribution) on loopback.
command -v docker-registry >/dev/null || need+=(docker-registry)
# The arm64 executable is run under user-mode emulation, with arm64 glibc from Debian's multiarch.
arm64=()
command -v qemu-aarch64-static >/dev/null || arm64+=(qemu-user-static)
[ -e /lib/ld-linux-aarch64.so.1 ] || arm64+=(libc6:arm64)
if [ ${#arm64[@]} -gt 0 ]; then
  dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
  need+=("${arm64[@]}")
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup-engine: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The Docker CLI in /usr/local/bin may be newer than the engine: it negotiates the API version.
engine_up() { curl -fsS --max-time 2 --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1; }

if ! engine_up; then
  echo "setup-engine: starting dockerd (log: $LOG)"
  # setsid: dockerd must outlive this script and the npm process that ran it.
  setsid dockerd --host "unix://$SOCK" >"$LOG" 2>&1 < /dev/null &
  for _ in $(seq 1 120); do engine_up && break; sleep 0.5; done
  engine_up || { echo "setup-engine: dockerd did not come up; last log lines:"; tail -20 "$LOG"; exit 1; }
fi

if ! docker -H "unix://$SOCK" image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "setup-engine: building $IMAGE from busybox-static"
  root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/tmp" "$root/etc"
  bb=$(command -v busybox)
  cp "$bb" "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
  echo 'root:x:0:' >"$root/etc/group"
  tar -C "$root" -c . | docker -H "unix://$SOCK" import \
    -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' - "$IMAGE" >/dev/null
  rm -rf "$root"
fi
echo "setup-engine: engine up at unix://$SOCK, test image $IMAGE"
