#!/usr/bin/env bash
# install-system.sh — what a fresh Debian 12 machine lacks to run the lab's tests headless:
#   - chromium (headless browser tests; also brings SwiftShader's Vulkan ICD)
#   - Mesa 25 lavapipe from bookworm-backports (a CPU Vulkan driver Dawn accepts; Debian 12's
#     Mesa 22 lavapipe is rejected by Dawn, see shared/WEBGPU_TESTING.md)
# Idempotent: does nothing that is already done. Needs root (CI runs as root) or sudo.
set -euo pipefail
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -f /usr/share/vulkan/icd.d/lvp_icd.json ] && dpkg --compare-versions "$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || echo 0)" ge 25 || need+=(lavapipe)
[ ${#need[@]} -eq 0 ] && { echo "install-system: chromium and lavapipe already present"; exit 0; }
export DEBIAN_FRONTEND=noninteractive
src=/etc/apt/sources.list.d/debian.sources
if [ -f "$src" ] && ! grep -q 'bookworm-backports' "$src" /etc/apt/sources.list.d/*.sources 2>/dev/null; then
  # add the backports suite to Debian's own source (same mirror, same key)
  $SUDO sed -i '0,/^Suites: bookworm bookworm-updates$/s//Suites: bookworm bookworm-updates bookworm-backports/' "$src"
fi
$SUDO apt-get update -qq
for n in "${need[@]}"; do
  case $n in
    chromium) $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null ;;
    lavapipe) $SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null ;;
  esac
done
echo "install-system: installed ${need[*]}"
