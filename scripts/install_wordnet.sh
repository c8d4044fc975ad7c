#!/usr/bin/env bash
# Install Princeton WordNet 3.0 from Debian's `wordnet-base` package (data files in
# /usr/share/wordnet) for the relational-geometry experiment (CPRR C-10..C-13) and its tests.
# Idempotent: does nothing when the data files are already there. Needs root (or sudo) and the
# Debian package registry. Nothing is downloaded at run time: the code only reads these files.
# The tests that read the real data skip without it, unless STEERING_REQUIRE_WORDNET=1 (CI).
set -euo pipefail

DIR="${STEERING_WORDNET_DIR:-/usr/share/wordnet}"
if [ -f "$DIR/data.noun" ] && [ -f "$DIR/data.adj" ] && [ -f "$DIR/index.noun" ] && [ -f "$DIR/index.adj" ]; then
    echo "wordnet: already installed ($DIR)"
    exit 0
fi

. "$(dirname "$0")/apt_install.sh"
apt_install wordnet wordnet-base
echo "wordnet: installed ($DIR)"
