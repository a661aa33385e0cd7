//! Exact counts over live posts, and retention by daily partition.
//!
//! Guarantees:
//! * a post counts once however many times it was delivered, whether or not ClickHouse has
//!   merged the duplicates yet: every query groups by the post key `(source, source_id)` and
//!   reads the latest delivery's values with `argMax(…, version)` (never plain `count()` on
//!   `posts`, never a reliance on background merges);
//! * a post with a tombstone in `post_deletes` is in no result, whichever order the post and its
//!   delete arrived in and whichever partitions they fell into;
//! * a post listing a watch twice counts once for it (`uniqExact` on the key after `ARRAY JOIN`);
//! * retention drops whole daily partitions of `posts`, only days strictly before
//!   `today − days`, so no post younger than `days` days is ever dropped; tombstones are kept.
//!
//! Every statement here runs on ClickHouse 18.16 and on current ClickHouse.

use chrono::{Datelike, Days, NaiveDate};

use crate::error::StoreError;
use crate::schema::POSTS_TABLE;
use crate::store::PostStore;

/// The condition that keeps deleted posts out of every result.
pub const NOT_DELETED_CONDITION: &str =
    "(source, source_id) NOT IN (SELECT source, source_id FROM post_deletes)";

const COUNT_LIVE_POSTS: &str = "
SELECT uniqExact(source, source_id)
FROM posts
WHERE (source, source_id) NOT IN (SELECT source, source_id FROM post_deletes)";

const COUNT_LIVE_POSTS_BY_WATCH: &str = "
SELECT watch, uniqExact(source, source_id) AS live_posts
FROM (
    SELECT source, source_id, argMax(watches, version) AS latest_watches
    FROM posts
    WHERE (source, source_id) NOT IN (SELECT source, source_id FROM post_deletes)
    GROUP BY source, source_id
)
ARRAY JOIN latest_watches AS watch
GROUP BY watch
ORDER BY watch";

const COUNT_LIVE_POSTS_BY_LABEL: &str = "
SELECT latest_label, count() AS live_posts
FROM (
    SELECT argMax(label, version) AS latest_label
    FROM posts
    WHERE (source, source_id) NOT IN (SELECT source, source_id FROM post_deletes)
    GROUP BY source, source_id
)
GROUP BY latest_label
ORDER BY latest_label";

const LIST_ACTIVE_PARTITIONS: &str = "
SELECT DISTINCT partition
FROM system.parts
WHERE database = ? AND table = ? AND active
ORDER BY partition";

impl PostStore {
    /// How many distinct posts are stored and not deleted.
    pub async fn count_posts(&self) -> Result<u64, StoreError> {
        self.client()
            .query(COUNT_LIVE_POSTS)
            .fetch_one()
            .await
            .map_err(StoreError::clickhouse("count posts"))
    }

    /// For each watch, how many distinct live posts matched it (a post in several watches counts
    /// once in each). Sorted by watch name; watches without posts are absent.
    pub async fn count_posts_by_watch(&self) -> Result<Vec<(String, u64)>, StoreError> {
        self.client()
            .query(COUNT_LIVE_POSTS_BY_WATCH)
            .fetch_all()
            .await
            .map_err(StoreError::clickhouse("count posts by watch"))
    }

    /// For each label (`negative`, `neutral`, `positive`, `unscored`), how many distinct live
    /// posts carry it in their latest delivery. Sorted by label; labels without posts are absent.
    pub async fn count_posts_by_label(&self) -> Result<Vec<(String, u64)>, StoreError> {
        self.client()
            .query(COUNT_LIVE_POSTS_BY_LABEL)
            .fetch_all()
            .await
            .map_err(StoreError::clickhouse("count posts by label"))
    }

    /// The days that have a partition in `posts`, ascending.
    pub async fn post_partition_days(&self) -> Result<Vec<NaiveDate>, StoreError> {
        let partitions: Vec<String> = self
            .client()
            .query(LIST_ACTIVE_PARTITIONS)
            .bind(self.database())
            .bind(POSTS_TABLE)
            .fetch_all()
            .await
            .map_err(StoreError::clickhouse("list post partitions"))?;
        let mut days = Vec::with_capacity(partitions.len());
        for partition in partitions {
            let Some(day) = day_of_partition(&partition) else {
                tracing::warn!(%partition, "posts partition is not a YYYYMMDD day; ignoring it");
                continue;
            };
            days.push(day);
        }
        days.sort_unstable();
        days.dedup();
        Ok(days)
    }

    /// Retention: drops every daily partition of `posts` before `today − days` and returns the
    /// days dropped. Running it again drops nothing more.
    pub async fn drop_partitions_older_than(
        &self,
        days: u32,
        today: NaiveDate,
    ) -> Result<Vec<NaiveDate>, StoreError> {
        let Some(oldest_day_kept) = today.checked_sub_days(Days::new(u64::from(days))) else {
            return Ok(Vec::new());
        };
        let mut dropped = Vec::new();
        for day in self.post_partition_days().await? {
            if day >= oldest_day_kept {
                continue;
            }
            self.client()
                .query("ALTER TABLE posts DROP PARTITION ?")
                .bind(partition_of_day(day))
                .execute()
                .await
                .map_err(StoreError::clickhouse("drop post partition"))?;
            tracing::info!(database = %self.database(), %day, "retention dropped posts partition");
            dropped.push(day);
        }
        Ok(dropped)
    }
}

/// The partition value `toYYYYMMDD` gives for `day`, e.g. 20150223.
pub(crate) fn partition_of_day(day: NaiveDate) -> u32 {
    let year = u32::try_from(day.year()).unwrap_or(0);
    year * 10_000 + day.month() * 100 + day.day()
}

/// The day of a partition named like `20150223`; `None` for anything else.
pub(crate) fn day_of_partition(partition: &str) -> Option<NaiveDate> {
    let digits = partition.trim_matches('\'');
    if digits.len() != 8 || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let value: u32 = digits.parse().ok()?;
    let year = i32::try_from(value / 10_000).ok()?;
    NaiveDate::from_ymd_opt(year, (value / 100) % 100, value % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_names_round_trip() {
        let day = NaiveDate::from_ymd_opt(2015, 2, 23).unwrap();
        assert_eq!(partition_of_day(day), 20_150_223);
        assert_eq!(day_of_partition("20150223"), Some(day));
        assert_eq!(day_of_partition("'20150223'"), Some(day));
        assert_eq!(day_of_partition("20151323"), None);
        assert_eq!(day_of_partition("2015022"), None);
        assert_eq!(day_of_partition("tuple()"), None);
    }

    #[test]
    fn every_query_excludes_deleted_posts_and_binds_instead_of_formatting() {
        for query in [
            COUNT_LIVE_POSTS,
            COUNT_LIVE_POSTS_BY_WATCH,
            COUNT_LIVE_POSTS_BY_LABEL,
        ] {
            assert!(query.contains(NOT_DELETED_CONDITION), "{query}");
            assert!(!query.contains('?'), "{query}");
        }
        assert_eq!(LIST_ACTIVE_PARTITIONS.matches('?').count(), 2);
    }
}
