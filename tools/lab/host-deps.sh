#!/usr/bin/env bash
# Host prerequisites of the lab and of molecule on a Debian 12 machine (root):
# podman with runc, netavark/aardvark-dns for container networks with names,
# debootstrap for the base image, ldap-utils to look at the lab directory from
# this machine, Chromium and its ChromeDriver for the webmail's browser tests
# (tools/browser.py; certutil from libnss3-tools makes the lab CA trusted in the
# browser's throw-away profile), and podman's engine settings.
# Idempotent: installs only what is missing and rewrites the settings only when
# the repository's copy differs.
set -euo pipefail
cd "$(dirname "$0")"

packages=(
  podman runc
  netavark aardvark-dns containernetworking-plugins
  slirp4netns uidmap fuse-overlayfs
  debootstrap debian-archive-keyring
  ca-certificates curl
  ldap-utils
  chromium chromium-driver libnss3-tools
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' \
    || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "host-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

install -d -m 0755 /etc/containers
if ! cmp -s containers.conf /etc/containers/containers.conf; then
  echo "host-deps: writing /etc/containers/containers.conf"
  install -m 0644 containers.conf /etc/containers/containers.conf
fi
