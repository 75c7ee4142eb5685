#!/usr/bin/env bash
# Remove the containers and networks carrying one of this repository's labels,
# and nothing else:
#   remove-labelled.sh soctrang.lab=make-lab   the lab (make lab-destroy)
#   remove-labelled.sh soctrang.molecule=1     leftovers of an interrupted molecule run
# The base image is kept (make image rebuilds it only when its recipe changes).
set -euo pipefail
label=${1:?usage: remove-labelled.sh soctrang.lab=make-lab|soctrang.molecule=1}
case "$label" in
  soctrang.lab=make-lab | soctrang.molecule=1) ;;
  *) echo "remove-labelled: refusing unknown label $label" >&2; exit 2 ;;
esac
command -v podman >/dev/null || exit 0

mapfile -t containers < <(podman ps -a --filter "label=$label" --format '{{.Names}}')
if ((${#containers[@]})); then
  echo "removing containers labelled $label: ${containers[*]}"
  podman rm -f -t 5 "${containers[@]}" >/dev/null
fi
mapfile -t networks < <(podman network ls --filter "label=$label" --format '{{.Name}}')
if ((${#networks[@]})); then
  echo "removing networks labelled $label: ${networks[*]}"
  podman network rm -f "${networks[@]}" >/dev/null
fi
