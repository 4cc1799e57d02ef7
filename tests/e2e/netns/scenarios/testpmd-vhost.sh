#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# testpmd-vhost: testpmd-memif over vhost-user: vnetfw's ports are
# net_vhost (the socket servers), each testpmd a net_virtio_user client.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
MEMIF_NAME=testpmd-vhost MEMIF_PMD=vhost exec bash "$HERE/testpmd-memif.sh"
