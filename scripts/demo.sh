#!/usr/bin/env bash
# `make demo`: a whole chat against the built-in sandbox pod, first one step per process, then with `chat`.
# Everything runs inside `liveagent sandbox exec`, which starts the pod on a free port, points
# LIVEAGENT_POD (and the ids) at it, gives the steps a throwaway state folder and stops the pod afterwards.
set -euo pipefail

if [ "${1:-}" != "--inside" ]; then
    exec liveagent sandbox exec --accept-after 0.5 -- bash "$0" --inside
fi

if [ -t 2 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\033[1;35m'; off=$'\033[0m'; else bold=""; off=""; fi
say() { printf '\n%s$ %s%s\n' "$bold" "$*" "$off" >&2; }
step() { say "$@"; "$@"; }

step liveagent session
step liveagent init --visitor-name Ada
step liveagent poll --until ChatEstablished
step liveagent send "Hello from the shell"
step liveagent poll --until ChatMessage --json
step liveagent status
step liveagent end

say 'printf "Is anyone there?\nThanks, bye\n" | liveagent chat --visitor-name Grace'
printf 'Is anyone there?\nThanks, bye\n' | liveagent chat --visitor-name Grace --reply-wait 5
