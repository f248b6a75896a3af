#!/usr/bin/env bash
# The library's symbol hygiene, run by ctest (test "exports"):
#  - libmlp.so exports exactly the functions declared with MLP_API in include/mlp/*.h: nothing
#    without the mlp_ prefix, no internal helper, and no public function missing;
#  - its SONAME is libmlp.so.<MLP_VERSION_MAJOR>;
#  - every global symbol libmlp.a defines starts with mlp_ (static users share its namespace).
# usage: check_exports.sh <libmlp.so> <libmlp.a> <include dir>
set -euo pipefail
so=$1 ar=$2 inc=$3
fail=0
err() {
    echo "FAIL: $*" >&2
    fail=1
}

# Declared: every line that starts with MLP_API names one function.
declared=$(grep -h '^MLP_API' "$inc"/mlp/*.h |
    sed -E 's/^MLP_API[^(]*[ *](mlp_[A-Za-z0-9_]+)[ ]*\(.*/\1/' | sort -u)
if echo "$declared" | grep -qv '^mlp_'; then
    err "cannot parse these declarations in $inc/mlp:"
    echo "$declared" | grep -v '^mlp_' >&2
fi

exported=$(nm -D --defined-only "$so" | awk 'NF >= 3 {print $3}' | sed 's/@.*//' | sort -u)
echo "libmlp.so exports $(echo "$exported" | wc -l) symbols;" \
    "the headers declare $(echo "$declared" | wc -l)"
if bad=$(echo "$exported" | grep -v '^mlp_'); then
    err "exported without the mlp_ prefix:"
    echo "$bad" >&2
fi
if extra=$(comm -13 <(echo "$declared") <(echo "$exported") | grep .); then
    err "exported but not declared with MLP_API in include/mlp (internal symbols leak):"
    echo "$extra" >&2
fi
if missing=$(comm -23 <(echo "$declared") <(echo "$exported") | grep .); then
    err "declared with MLP_API but not exported (missing definition or visibility):"
    echo "$missing" >&2
fi

major=$(sed -nE 's/^#define MLP_VERSION_MAJOR ([0-9]+).*/\1/p' "$inc/mlp/mlp.h")
soname=$(readelf -d "$so" | sed -nE 's/.*\(SONAME\).*\[(.*)\]/\1/p')
[ "$soname" = "libmlp.so.$major" ] || err "SONAME is '$soname', expected libmlp.so.$major"

# Static library: global (T, D, B, R, ...) definitions only; local ones (t, d, ...) are private.
if bad=$(nm -g --defined-only "$ar" | awk 'NF >= 3 {print $3}' | grep -v '^mlp_' | sort -u |
    grep .); then
    err "libmlp.a defines global symbols without the mlp_ prefix (they can clash with a program's):"
    echo "$bad" >&2
fi

[ $fail -eq 0 ] &&
    echo "OK: libmlp.so exports only the public API (SONAME $soname); libmlp.a's globals are mlp_"
exit $fail
