#!/usr/bin/env bash
# apt_install LABEL PACKAGE...: install Debian packages as root (or through sudo), non-interactively.
# Sourced by the install_*.sh scripts; fails with one line naming the packages when neither root
# nor sudo is available.
apt_install() {
    local label="$1"
    shift
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo="sudo"
        else
            echo "$label: not installed, and installing it needs root (apt-get install $*)" >&2
            return 1
        fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update
    $sudo apt-get install -y --no-install-recommends "$@"
}
