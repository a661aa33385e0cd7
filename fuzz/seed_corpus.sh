#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ from the project's own test fixtures and examples (and from
# ../shared/data/fixtures, or $TIDEWATCH_SHARED_DATA/fixtures, when it is there). Idempotent: files are named by
# content hash, so running it again adds nothing twice. The corpus is not committed (it grows
# with every run); this script is how it starts.
set -euo pipefail
fuzz_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$fuzz_dir")
fixtures="$repo/crates/tidewatch-collect/tests/fixtures"
shared="${TIDEWATCH_SHARED_DATA:-$repo/../shared/data}/fixtures"

# add TARGET FILE...: each file as one corpus entry.
add() {
    local target=$1
    shift
    mkdir -p "$fuzz_dir/corpus/$target"
    local file
    for file in "$@"; do
        [ -f "$file" ] || continue
        cp "$file" "$fuzz_dir/corpus/$target/$(sha1sum "$file" | cut -c1-16)"
    done
}

# add_lines TARGET FILE...: each line of each file as one corpus entry (JSONL fixtures).
add_lines() {
    local target=$1
    shift
    mkdir -p "$fuzz_dir/corpus/$target"
    local file line
    for file in "$@"; do
        [ -f "$file" ] || continue
        while IFS= read -r line; do
            [ -n "$line" ] || continue
            printf '%s' "$line" >"$fuzz_dir/corpus/$target/tmp"
            mv "$fuzz_dir/corpus/$target/tmp" \
                "$fuzz_dir/corpus/$target/$(printf '%s' "$line" | sha1sum | cut -c1-16)"
        done < <(head -n 200 "$file")
    done
}

add_lines canonical_post "$repo/examples/posts.jsonl"
add_lines webhook_body "$repo/examples/posts.jsonl"
add mastodon "$fixtures"/mastodon_* "$shared"/mastodon/*
add jetstream "$shared"/bluesky_jetstream/*.json
add_lines jetstream "$fixtures"/bluesky_events.jsonl "$shared"/bluesky_jetstream/*.jsonl
add hackernews "$fixtures"/hackernews_* "$shared"/hackernews/*
add reddit "$fixtures"/reddit_* "$shared"/reddit/*
add rss_atom "$fixtures"/atom_feed.xml "$fixtures"/rss2_reviews.xml "$shared"/rss_atom/*
add appstore "$fixtures"/appstore_* "$shared"/appstore_rss/*
add_lines dead_letter "$repo/examples/posts.jsonl"
add config_sections "$repo/examples/tidewatch.toml" "$repo/deploy/docker/tidewatch.toml"
for target in "$fuzz_dir"/corpus/*; do
    echo "$(basename "$target"): $(find "$target" -type f | wc -l) seeds"
done
