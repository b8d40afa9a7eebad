#!/usr/bin/env bash
# The main job: build Winnow, package it, and open it in a local VS Code on a dataset.
#
#   bash scripts/start.sh [DATASET.jsonl | FOLDER]
#
# Without an argument a small demo dataset is generated in a temp folder (removed on exit).
# - Desktop VS Code (`code` on PATH, or $CODE): opens a new window with Winnow loaded as a
#   development extension (your installed extensions and settings are not changed) and waits
#   until that window is closed.
# - Otherwise (or with WINNOW_USE_CODE_SERVER=1): the code-server runtime (installed on first
#   use into ~/.cache/winnow/vscode-runtime) serves VS Code with the packaged VSIX installed
#   into a throwaway profile, and prints the URL to open. WINNOW_PORT picks the port.
# Stays in the foreground until Ctrl-C (or the window closes), then cleans up.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

say() { echo "[start] $*" >&2; }

target="${1:-}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/winnow-start-XXXXXX")"
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "$target" ]; then
  [ -e "$target" ] || { say "no such file or folder: $target"; exit 1; }
  target="$(cd "$(dirname "$target")" && pwd)/$(basename "$target")"
  if [ -d "$target" ]; then
    folder="$target"
    file=""
  else
    folder="$(dirname "$target")"
    file="$target"
  fi
else
  folder="$tmp/demo"
  file="$folder/demo.jsonl"
  mkdir -p "$folder"
  # A small instruction-tuning style dataset with two broken lines, so that the dataset view,
  # the hover and the Problems panel all have something to show.
  node -e '
    const topics = ["rivers", "prime numbers", "sourdough", "volcanoes", "merge sort", "tides", "owls", "photosynthesis"];
    const lines = [];
    for (let i = 0; i < 2000; i++) {
      const t = topics[i % topics.length];
      if (i === 41) { lines.push(`{"instruction": "Explain ${t}", "response": `); continue; }
      if (i === 977) { lines.push("not json at all"); continue; }
      lines.push(JSON.stringify({
        instruction: `Explain ${t} to a ${["child", "student", "engineer"][i % 3]}.`,
        context: i % 5 === 0 ? `Keep it under ${(i % 4) + 2} sentences.` : "",
        response: `${t[0].toUpperCase() + t.slice(1)} ${"is a topic worth a short answer. ".repeat((i % 6) + 1)}`.trim(),
        category: ["open_qa", "brainstorming", "summarization"][i % 3],
      }));
    }
    require("fs").writeFileSync(process.argv[1], lines.join("\n") + "\n");
  ' "$file"
  say "generated demo dataset $file (2000 lines, 2 invalid)"
fi

bash scripts/ensure-deps.sh
say "building and packaging"
vsix="$(node scripts/package.mjs | tail -1)"
say "packaged $vsix (install it into VS Code with: code --install-extension $vsix)"

code_bin="${CODE:-$(command -v code || true)}"
if [ -n "$code_bin" ] && [ "${WINNOW_USE_CODE_SERVER:-0}" != 1 ]; then
  say "opening desktop VS Code ($code_bin) with Winnow as a development extension"
  say "close the window (or press Ctrl-C here) to stop"
  # --wait keeps this script in the foreground until the window is closed.
  "$code_bin" --new-window --wait --extensionDevelopmentPath="$repo" "$folder" ${file:+"$file"}
else
  bash scripts/setup-vscode-runtime.sh >/dev/null
  node scripts/serve-vscode.mjs --vsix "$vsix" --folder "$folder" ${file:+--open "$file"}
fi
