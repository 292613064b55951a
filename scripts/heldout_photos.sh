#!/usr/bin/env bash
# Copies the photos `tlc train` holds out by default (every 5th *.png of SRC by name, C locale;
# data.holdout_every=5) into DEST, for evaluation on full images the model never trained on.
#   scripts/heldout_photos.sh SRC DEST
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 SRC DEST" >&2; exit 2; }
mkdir -p "$2"
i=0
for f in $(ls "$1"/*.png | LC_ALL=C sort); do
  i=$((i + 1))
  if [ $((i % 5)) -eq 0 ]; then cp "$f" "$2/"; fi
done
