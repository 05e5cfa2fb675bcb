#!/usr/bin/env bash
# ui-check.sh URL TEXT: loads URL in headless Chromium and checks that the rendered page
# shows TEXT. Exits 0 when it does, 1 when it does not, and 0 with a note when no Chromium
# is installed (apt-get install chromium), so that machines without one stay green.
set -euo pipefail
url=$1 text=$2
browser=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [[ -z $browser ]]; then
	echo "ui-check: skipped: no Chromium (apt-get install chromium, or set CHROMIUM)"
	exit 0
fi
for _ in 1 2 3; do
	dom=$("$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
		--virtual-time-budget=20000 --dump-dom "$url" 2>/dev/null || true)
	if grep -qF -- "$text" <<<"$dom"; then
		echo "ui-check: OK: $url shows \"$text\""
		exit 0
	fi
done
echo "ui-check: $url does not show \"$text\" (${#dom} bytes of DOM)" >&2
exit 1
