#!/usr/bin/env bash
# Installs every package m3fs needs to build, to run its tests, and to run the local lab.
# Safe to run again: apt-get skips what is already installed.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi

BUILD_PKGS=(build-essential gcc clang cmake pkg-config git
            libyaml-dev libssh-dev libcurl4-openssl-dev libssl-dev
            libarchive-dev libcjson-dev libcmocka-dev)
# The test command also drives real sshd, dockerd and an HTTP server.
TEST_PKGS=(openssh-server openssh-client docker.io iproute2 util-linux procps
           python3 curl fio iptables debootstrap sudo time busybox-static openssl
           qemu-system-x86 qemu-utils e2fsprogs systemd shellcheck
           python3-tomli)
# libFuzzer's runtime comes with clang only as a recommendation on some
# releases, and under a versioned name: install the first name this release has.
OPTIONAL_FIRST_OF=(libclang-rt-dev libclang-rt-14-dev)

export DEBIAN_FRONTEND=noninteractive
stamp=/var/tmp/m3fs-apt-updated
if [ ! -e "$stamp" ] || [ -n "$(find "$stamp" -mmin +720 2>/dev/null)" ]; then
    $SUDO apt-get update -q
    $SUDO touch "$stamp" 2>/dev/null || true
fi
missing=()
for p in "${BUILD_PKGS[@]}" "${TEST_PKGS[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
for p in "${OPTIONAL_FIRST_OF[@]}"; do
    if dpkg -s "$p" >/dev/null 2>&1; then break; fi
    if apt-cache show "$p" >/dev/null 2>&1; then missing+=("$p"); break; fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    echo "install-deps: all packages present"
fi
