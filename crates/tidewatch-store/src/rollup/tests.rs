//! Tests of the pure range planner: coverage exactly once, clean buckets only, bounded spans.

use std::collections::HashMap;

use proptest::prelude::*;

use super::*;

const DAY_START: u32 = 1_424_649_600; // 2015-02-23T00:00:00Z

fn clean_of(buckets: &[u32]) -> HashMap<u32, u64> {
    buckets
        .iter()
        .map(|bucket| (*bucket, u64::from(*bucket) * 10))
        .collect()
}

/// How many times the plan reads the second `at`: once from the rollup or raw, never twice.
fn coverage(plan: &RangePlan, at: u32) -> usize {
    let in_rollup = plan
        .rollup_buckets
        .iter()
        .filter(|bucket| (**bucket..**bucket + ROLLUP_SECONDS).contains(&at))
        .count();
    let in_raw = plan
        .raw_spans
        .iter()
        .filter(|span| (span.0..span.1).contains(&at))
        .count();
    in_rollup + in_raw
}

#[test]
fn an_aligned_clean_range_reads_only_the_rollup() {
    let buckets: Vec<u32> = (0..12).map(|i| DAY_START + i * ROLLUP_SECONDS).collect();
    let plan = plan_range(DAY_START, DAY_START + 3_600, &clean_of(&buckets), 8);
    assert_eq!(plan.rollup_buckets, buckets);
    assert_eq!(plan.generations[0], u64::from(DAY_START) * 10);
    assert!(plan.raw_spans.is_empty());
}

#[test]
fn ragged_edges_and_dirty_buckets_are_read_raw() {
    let clean: Vec<u32> = (0..12)
        .filter(|i| *i != 5)
        .map(|i| DAY_START + i * ROLLUP_SECONDS)
        .collect();
    let plan = plan_range(DAY_START + 10, DAY_START + 3_590, &clean_of(&clean), 8);
    assert_eq!(
        plan.raw_spans,
        vec![
            (DAY_START + 10, DAY_START + 300),
            (DAY_START + 1_500, DAY_START + 1_800),
            (DAY_START + 3_300, DAY_START + 3_590),
        ]
    );
    assert_eq!(plan.rollup_buckets.len(), 12 - 1 - 2);
}

#[test]
fn nothing_clean_or_a_range_inside_one_bucket_is_one_raw_span() {
    let plan = plan_range(DAY_START, DAY_START + 3_600, &HashMap::new(), 8);
    assert_eq!(plan.raw_spans, vec![(DAY_START, DAY_START + 3_600)]);
    let plan = plan_range(DAY_START + 1, DAY_START + 299, &clean_of(&[DAY_START]), 8);
    assert_eq!(plan.raw_spans, vec![(DAY_START + 1, DAY_START + 299)]);
    assert!(plan.rollup_buckets.is_empty());
    assert_eq!(plan_range(5, 5, &clean_of(&[0]), 8), RangePlan::default());
}

#[test]
fn too_many_raw_spans_merge_across_the_smallest_gaps() {
    // Every other bucket dirty, except a long clean stretch in the middle.
    let clean: Vec<u32> = (0..100)
        .filter(|i| i % 2 == 1 || (40..60).contains(i))
        .map(|i| DAY_START + i * ROLLUP_SECONDS)
        .collect();
    let plan = plan_range(DAY_START, DAY_START + 100 * 300, &clean_of(&clean), 2);
    assert_eq!(plan.raw_spans.len(), 2, "{:?}", plan.raw_spans);
    // The long clean stretch (the largest gap) stays in the rollup.
    assert!(plan.rollup_buckets.contains(&(DAY_START + 50 * 300)));
}

proptest! {
    #[test]
    fn every_second_is_read_exactly_once_from_a_clean_bucket_or_a_raw_span(
        start_offset in 0u32..900,
        length in 0u32..40_000,
        clean_mask in proptest::collection::vec(any::<bool>(), 140),
        max_raw_spans in 1usize..6,
    ) {
        let from = DAY_START + start_offset;
        let to = from + length;
        let clean: Vec<u32> = clean_mask
            .iter()
            .enumerate()
            .filter(|(_, clean)| **clean)
            .map(|(i, _)| DAY_START + i as u32 * ROLLUP_SECONDS)
            .collect();
        let clean = clean_of(&clean);
        let plan = plan_range(from, to, &clean, max_raw_spans);
        prop_assert!(plan.raw_spans.len() <= max_raw_spans);
        prop_assert_eq!(plan.rollup_buckets.len(), plan.generations.len());
        for (bucket, generation) in plan.rollup_buckets.iter().zip(&plan.generations) {
            prop_assert_eq!(clean.get(bucket), Some(generation));
            prop_assert!(*bucket >= from && bucket + ROLLUP_SECONDS <= to);
        }
        prop_assert!(plan.raw_spans.windows(2).all(|pair| pair[0].1 < pair[1].0));
        let mut at = from;
        while at < to {
            prop_assert_eq!(coverage(&plan, at), 1, "second {}", at);
            at += 37;
        }
        if to > from {
            prop_assert_eq!(coverage(&plan, to - 1), 1);
        }
        prop_assert_eq!(coverage(&plan, to), 0);
    }
}
