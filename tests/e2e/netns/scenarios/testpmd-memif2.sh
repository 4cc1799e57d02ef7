#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# testpmd-memif2: testpmd-memif with two vnetfw workers and testpmd peers
# that connect with two queue pairs each (--rxq=2 --txq=2): every packet
# is received once, whichever worker owns its flow.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
MEMIF_NAME=testpmd-memif2 MEMIF_WORKERS=2 exec bash "$HERE/testpmd-memif.sh"
