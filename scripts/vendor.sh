#!/usr/bin/env bash
# Fetch the front end's third-party libraries from the npm registry and copy their
# browser builds (ES modules) and licenses into src/threadline/web/static/vendor/.
# Re-run after changing a version below, then update static/vendor/README.md.
set -euo pipefail

MARKED=18.2.1
DOMPURIFY=3.4.18
HLJS=11.12.0

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/src/threadline/web/static/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "marked@$MARKED" "dompurify@$DOMPURIFY" "@highlightjs/cdn-assets@$HLJS" >/dev/null
for tgz in *.tgz; do
  mkdir -p "${tgz%.tgz}"
  tar xzf "$tgz" -C "${tgz%.tgz}"
done

mkdir -p "$dest/marked" "$dest/dompurify" "$dest/highlight"
cp "marked-$MARKED/package/lib/marked.esm.js" "$dest/marked/marked.esm.js"
cp "marked-$MARKED/package/LICENSE" "$dest/marked/LICENSE"
cp "dompurify-$DOMPURIFY/package/dist/purify.es.mjs" "$dest/dompurify/purify.es.mjs"
cp "dompurify-$DOMPURIFY/package/LICENSE" "$dest/dompurify/LICENSE"
cp "highlightjs-cdn-assets-$HLJS/package/es/highlight.min.js" "$dest/highlight/highlight.min.js"
cp "highlightjs-cdn-assets-$HLJS/package/LICENSE" "$dest/highlight/LICENSE"

# Drop source-map references: the maps are not vendored.
sed -i '/^\/\/# sourceMappingURL=/d' "$dest/marked/marked.esm.js" "$dest/dompurify/purify.es.mjs"
echo "vendored marked $MARKED, dompurify $DOMPURIFY, highlight.js $HLJS into $dest"
