#!/usr/bin/env bash
# Set up rvqgan on a fresh machine (Python 3.11 + pip): a virtual environment in .venv with
# the CPU build of torch 2.13.0 installed first (so nothing pulls a CUDA build), the package
# in editable mode with its test/train/eval extras, and the real codecs and browser used by
# the evaluation (ffmpeg, opus-tools, lame, chromium) when apt is available.
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
. .venv/bin/activate
python -m pip install -q --upgrade "pip>=25"
python -m pip install -q torch==2.13.0
python -m pip install -q -e ".[test,train,eval]"

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    missing=""
    for tool in ffmpeg opusenc lame chromium chromedriver; do
        command -v "$tool" >/dev/null 2>&1 || missing="yes"
    done
    if [ -n "$missing" ]; then
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg opus-tools lame chromium chromium-driver >/dev/null
    fi
fi
echo "rvqgan is set up: . .venv/bin/activate"
