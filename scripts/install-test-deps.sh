#!/usr/bin/env bash
# Installs the system packages the test suite uses, only when missing (Debian/Ubuntu, needs root or sudo).
#   coturn            real TURN/STUN server (turn-check, relay-only transfers, RFC 5780 NAT tests)
#   nftables iproute2 conntrack   real NATs in network namespaces (nat-probe tests)
#   stun-client       Debian's RFC 3489 `stun` client (reference for the embedded STUN server)
#   chromium ffmpeg   real browser against the companion page; ffprobe judges recordings
#   mkvtoolnix        mkvinfo: a second, independent judge of the WebM/Matroska files record writes
#   openssl           certificates for TLS tests
#   redis-server      the shared room store of `serve --redis` (tests start their own on a free port)
#   python3-aiortc python3-websockets python3-numpy   an independent WebRTC stack (test/interop, for /usr/bin/python3)
#   gstreamer1.0-{plugins-base,plugins-good,plugins-bad,nice} python3-gst-1.0 gir1.2-gst-plugins-bad-1.0   GStreamer webrtcbin, another one
#   gcc time          benchmarks only: bench/netem's delay/loss relay is C; bench/datachannel measures with /usr/bin/time
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have turnserver || need+=(coturn)
have nft || need+=(nftables)
have ip || need+=(iproute2)
have tc || need+=(iproute2)
have conntrack || need+=(conntrack)
[ -x /usr/bin/stun ] || need+=(stun-client)   # not `have stun`: node_modules/.bin/stun (npm package) may shadow it
have chromium || need+=(chromium)
have ffprobe || need+=(ffmpeg)
have mkvinfo || need+=(mkvtoolnix)
have openssl || need+=(openssl)
have redis-server || need+=(redis-server)   # `serve --redis` tests (real redis-server, redis-cli)
# Debian's /usr/bin/python3, not a pyenv python3 that may come first on PATH.
/usr/bin/python3 -c 'import aiortc' 2>/dev/null || need+=(python3-aiortc)
/usr/bin/python3 -c 'import websockets' 2>/dev/null || need+=(python3-websockets)
/usr/bin/python3 -c 'import numpy' 2>/dev/null || need+=(python3-numpy)
/usr/bin/python3 -c "import gi; gi.require_version('GstWebRTC', '1.0')" 2>/dev/null || need+=(python3-gst-1.0 gir1.2-gst-plugins-bad-1.0)
for pkg in gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-nice; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
have gcc || have cc || need+=(gcc)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -eq 0 ]; then
  echo "install-test-deps: everything present"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-test-deps: installing ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts coturn as a service on install on some images; the tests start their own instances.
$SUDO systemctl disable --now coturn >/dev/null 2>&1 || true
$SUDO systemctl disable --now redis-server >/dev/null 2>&1 || true
