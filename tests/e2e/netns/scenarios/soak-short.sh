#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# soak-short: scripts/soak.sh --short, about a minute of real traffic and
# policy churn, failing on RSS growth or counter drift (see soak.sh).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
exec "$HERE/../../../../scripts/soak.sh" --short
