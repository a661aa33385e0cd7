//! Detector state per input partition, snapshotted to files together with the input offset it
//! covers, so that a restarted `detect` stage neither forgets a story nor pages it twice.
//!
//! Guarantees:
//! * a snapshot file holds the detector of one `posts.watched` partition and `next_offset`, the
//!   first offset NOT folded into that detector; it is written atomically (temporary file,
//!   fsync, rename), so a crash leaves either the old or the new snapshot, never half of one;
//! * the stage stores Kafka offsets only up to what a written snapshot covers, and skips records
//!   below `next_offset` after a restart, so every record is folded into the state exactly once
//!   whatever the committed offset is;
//! * a snapshot taken with a different `[detect]` configuration is not restored (its statistics
//!   mean something else); the stage logs that and starts that partition afresh.
//!
//! Why per partition: `posts.watched` is keyed by watch, so a partition's watches are disjoint
//! from every other partition's. When Kafka moves a partition to another detect process, that
//! process restores exactly that partition's state (the state directory must be shared storage
//! when detect runs on several machines).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use tidewatch_detect::{Detector, DetectorConfig};

/// The version of the snapshot file layout.
const SNAPSHOT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct SnapshotFile {
    v: u32,
    topic: String,
    partition: i32,
    next_offset: i64,
    detector: Detector,
}

/// The detector of one input partition and the first offset it has not seen.
pub(crate) struct PartitionState {
    pub(crate) detector: Detector,
    pub(crate) next_offset: i64,
}

/// Every partition's detector this process has touched, and which changed since the last save.
pub(crate) struct DetectorStates {
    /// None: nothing is saved or restored (the in-process bus, whose offsets restart at zero).
    directory: Option<PathBuf>,
    config: DetectorConfig,
    partitions: BTreeMap<(String, i32), PartitionState>,
    changed: BTreeSet<(String, i32)>,
}

impl DetectorStates {
    pub(crate) fn new(directory: Option<&Path>, config: DetectorConfig) -> anyhow::Result<Self> {
        if let Some(directory) = directory {
            std::fs::create_dir_all(directory).with_context(|| {
                format!(
                    "cannot create the detector state directory {} (pipeline.state_dir)",
                    directory.display()
                )
            })?;
        }
        Detector::new(config.clone())
            .map_err(|error| anyhow::anyhow!("invalid [detect] section: {error}"))?;
        Ok(Self {
            directory: directory.map(Path::to_path_buf),
            config,
            partitions: BTreeMap::new(),
            changed: BTreeSet::new(),
        })
    }

    /// The state of `topic`/`partition`, restored from its snapshot on first use.
    pub(crate) fn partition(
        &mut self,
        topic: &str,
        partition: i32,
    ) -> anyhow::Result<&mut PartitionState> {
        let key = (topic.to_string(), partition);
        if !self.partitions.contains_key(&key) {
            let state = self.restore(topic, partition)?;
            self.partitions.insert(key.clone(), state);
        }
        self.changed.insert(key.clone());
        Ok(self.partitions.get_mut(&key).expect("inserted just above"))
    }

    fn snapshot_path(directory: &Path, topic: &str, partition: i32) -> PathBuf {
        let safe_topic: String = topic
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        directory.join(format!("detect-{safe_topic}-{partition}.json"))
    }

    fn restore(&self, topic: &str, partition: i32) -> anyhow::Result<PartitionState> {
        let fresh = || PartitionState {
            detector: Detector::new(self.config.clone()).expect("validated in new"),
            next_offset: 0,
        };
        let Some(directory) = &self.directory else {
            return Ok(fresh());
        };
        let path = Self::snapshot_path(directory, topic, partition);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(fresh()),
            Err(error) => {
                return Err(error).with_context(|| format!("cannot read {}", path.display()))
            }
        };
        let snapshot: SnapshotFile = serde_json::from_slice(&bytes)
            .with_context(|| format!("detector snapshot {} is unreadable", path.display()))?;
        if snapshot.v != SNAPSHOT_VERSION || snapshot.topic != topic {
            anyhow::bail!(
                "detector snapshot {} is version {} of topic {}, expected version {SNAPSHOT_VERSION} of {topic}",
                path.display(),
                snapshot.v,
                snapshot.topic
            );
        }
        if snapshot.detector.config() != &self.config {
            tracing::warn!(topic, partition, path = %path.display(),
                "the [detect] configuration changed since this snapshot; starting this partition afresh");
            return Ok(PartitionState {
                next_offset: snapshot.next_offset,
                ..fresh()
            });
        }
        tracing::info!(
            topic,
            partition,
            next_offset = snapshot.next_offset,
            "detector state restored"
        );
        Ok(PartitionState {
            detector: snapshot.detector,
            next_offset: snapshot.next_offset,
        })
    }

    /// Writes a snapshot of every partition changed since the last save.
    pub(crate) fn save_changed(&mut self) -> anyhow::Result<usize> {
        let changed = std::mem::take(&mut self.changed);
        let Some(directory) = &self.directory else {
            return Ok(0);
        };
        for (topic, partition) in &changed {
            let state = &self.partitions[&(topic.clone(), *partition)];
            let snapshot = SnapshotFile {
                v: SNAPSHOT_VERSION,
                topic: topic.clone(),
                partition: *partition,
                next_offset: state.next_offset,
                detector: state.detector.clone(),
            };
            let path = Self::snapshot_path(directory, topic, *partition);
            write_atomically(&path, &serde_json::to_vec(&snapshot)?)?;
        }
        Ok(changed.len())
    }
}

/// Temporary file in the same directory, fsync, rename over the old file, fsync the directory.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let temporary = path.with_extension("json.tmp");
    let mut file = std::fs::File::create(&temporary)
        .with_context(|| format!("cannot create {}", temporary.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    std::fs::rename(&temporary, path)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    if let Some(directory) = path.parent() {
        if let Ok(directory) = std::fs::File::open(directory) {
            let _ = directory.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_partition_comes_back_with_its_offset_and_state() {
        let directory = tempfile::tempdir().unwrap();
        let mut states =
            DetectorStates::new(Some(directory.path()), DetectorConfig::default()).unwrap();
        states.partition("t.posts.watched", 2).unwrap().next_offset = 42;
        assert_eq!(states.save_changed().unwrap(), 1);
        assert_eq!(states.save_changed().unwrap(), 0, "nothing changed since");

        let mut restored =
            DetectorStates::new(Some(directory.path()), DetectorConfig::default()).unwrap();
        let state = restored.partition("t.posts.watched", 2).unwrap();
        assert_eq!(state.next_offset, 42);
        assert_eq!(
            state.detector,
            Detector::new(DetectorConfig::default()).unwrap()
        );
        assert_eq!(
            restored
                .partition("t.posts.watched", 3)
                .unwrap()
                .next_offset,
            0
        );
    }

    #[test]
    fn a_corrupt_snapshot_is_an_error_naming_the_file() {
        let directory = tempfile::tempdir().unwrap();
        let mut states =
            DetectorStates::new(Some(directory.path()), DetectorConfig::default()).unwrap();
        let path = DetectorStates::snapshot_path(directory.path(), "posts.watched", 0);
        std::fs::write(&path, b"{ half a snap").unwrap();
        let error = states.partition("posts.watched", 0).err().unwrap();
        assert!(format!("{error:#}").contains("unreadable"), "{error:#}");
    }
}
