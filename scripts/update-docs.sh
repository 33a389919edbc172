#!/usr/bin/env bash
# Regenerates the dialect reference in docs/dialect from the ODS sources.
set -euo pipefail
cd "$(dirname "$0")/.."
ninja -C build tessera-doc
cp build/docs/TesseraDialect.md build/docs/TesseraPasses.md docs/dialect/
echo "docs/dialect updated"
