#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# testpmd-vhost2: testpmd-vhost with two vnetfw workers, queues=2 on
# vnetfw's net_vhost ports and on the virtio-user peers (--rxq=2 --txq=2).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
MEMIF_NAME=testpmd-vhost2 MEMIF_PMD=vhost MEMIF_WORKERS=2 exec bash "$HERE/testpmd-memif.sh"
