#!/usr/bin/env bash
# Build the lab's base image localhost/soctrang-trixie:latest: a debootstrap of
# Debian 13 "trixie" from deb.debian.org with python3 (for Ansible) and systemd
# as PID 1, imported with `podman import` (no registry is reachable here).
#
# Cached: the image carries the hash of this recipe in the label
# soctrang.image.recipe; when an image with the current hash exists, nothing is
# done. Change the recipe (this file) and the next run rebuilds.
set -euo pipefail
recipe=$(realpath "$0")
cd "$(dirname "$0")"

image=${SOCTRANG_IMAGE:-localhost/soctrang-trixie:latest}
suite=trixie
mirror=http://deb.debian.org/debian
# What the roles need before their first task: python3 for Ansible's modules,
# python3-apt for the apt module, systemd/dbus so services run as on a server.
include=python3,python3-apt,systemd,systemd-sysv,dbus,ca-certificates,iproute2,procps,less
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

recipe_hash=$(sha256sum "$recipe" | cut -c1-16)
current_hash=$(podman image inspect --format '{{index .Labels "soctrang.image.recipe"}}' "$image" 2>/dev/null || true)
if [[ "$current_hash" == "$recipe_hash" ]]; then
  echo "image: $image is current (recipe $recipe_hash)"
  exit 0
fi

workdir=$(realpath -m ../../build/image)
rootfs=$workdir/rootfs
rm -rf "$rootfs"
mkdir -p "$rootfs"
trap 'rm -rf "$rootfs"' EXIT

echo "image: debootstrap $suite into $rootfs (a few minutes)"
debootstrap --variant=minbase --keyring="$keyring" --include="$include" \
  "$suite" "$rootfs" "$mirror" >"$workdir/debootstrap.log" 2>&1 \
  || { tail -30 "$workdir/debootstrap.log"; exit 1; }

cat >"$rootfs/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
deb ${mirror}-security $suite-security main
SOURCES
# Each container gets its own machine id at first boot.
: >"$rootfs/etc/machine-id"
rm -f "$rootfs/var/lib/dbus/machine-id"
# Units that have nothing to do in a container and only slow the boot or fail.
for unit in systemd-remount-fs.service getty.target console-getty.service \
  systemd-udevd.service systemd-udev-trigger.service systemd-firstboot.service \
  apt-daily.timer apt-daily-upgrade.timer; do
  ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
done
# Package lists are fetched by the roles (apt update_cache); keep the image small.
# The lists directory is dated 1970 so that apt's cache_valid_time sees no cache.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
  "$rootfs"/var/lib/apt/periodic/update-success-stamp
touch -d @0 "$rootfs/var/lib/apt/lists"

echo "image: importing as $image"
tar -C "$rootfs" --numeric-owner -cf - . | podman import \
  --change 'CMD ["/sbin/init"]' \
  --change 'STOPSIGNAL SIGRTMIN+3' \
  --change "LABEL soctrang.image.recipe=$recipe_hash" \
  --message "debootstrap $suite ($include)" --quiet \
  - "$image" >/dev/null
echo "image: $image built (recipe $recipe_hash)"
# The previous build of this tag is left untagged by the import: drop it.
podman image prune -f --filter label=soctrang.image.recipe >/dev/null
