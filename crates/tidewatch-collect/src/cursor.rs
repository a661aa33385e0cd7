//! Checkpoints of the polling collectors: where each source resumes after a restart.
//!
//! Guarantees:
//! * One small JSON file per source (`<dir>/<source name>.json`), written atomically: the new
//!   content goes to a temporary file in the same folder, is synced, then renamed over the old
//!   file, so a crash leaves either the old or the new checkpoint, never a torn one.
//! * A source name that is not a plain file name (`[A-Za-z0-9._-]`, not starting with a dot) is
//!   refused, so a config cannot write outside the folder.
//! * [`SeenIds`] remembers the most recent `capacity` ids in first-in-first-out order: memory
//!   and file size stay bounded, and an id older than the window may come through again (the
//!   pipeline collapses repeats by `source_id`).
//! * A corrupt file, or one written by a newer format version, is an error, never silently a
//!   fresh start (which would re-deliver or skip).
//! * A checkpoint holds everything a source needs to resume without a gap: the Hacker News
//!   `created_at_i` watermark, the seen ids (RSS GUIDs, App Store review ids, HN ids at the
//!   watermark second), the conditional-GET validators, the Mastodon `min_id` cursor and the
//!   Jetstream `time_us` cursor.

use crate::fetch::Validators;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::{HashSet, VecDeque};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The version of the checkpoint file format.
pub const CHECKPOINT_VERSION: u32 = 1;

/// The last `capacity` ids seen, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenIds {
    capacity: usize,
    order: VecDeque<String>,
    set: HashSet<String>,
}

impl Default for SeenIds {
    fn default() -> Self {
        SeenIds::new(SeenIds::DEFAULT_CAPACITY)
    }
}

impl SeenIds {
    pub const DEFAULT_CAPACITY: usize = 2_000;

    pub fn new(capacity: usize) -> Self {
        SeenIds {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            set: HashSet::new(),
        }
    }

    pub fn contains(&self, id: &str) -> bool {
        self.set.contains(id)
    }

    /// Remembers `id`; `true` when it was new. The oldest id is forgotten past the capacity.
    pub fn insert(&mut self, id: &str) -> bool {
        if self.set.contains(id) {
            return false;
        }
        self.set.insert(id.to_string());
        self.order.push_back(id.to_string());
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Changes the capacity (a config change), forgetting the oldest ids if it shrinks.
    pub fn set_capacity(&mut self, capacity: usize) {
        let ids: Vec<String> = self.order.drain(..).collect();
        *self = SeenIds::new(capacity);
        for id in ids {
            self.insert(&id);
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.order.iter().map(String::as_str)
    }
}

#[derive(Serialize, Deserialize)]
struct SeenFile {
    capacity: usize,
    ids: Vec<String>,
}

impl Serialize for SeenIds {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        SeenFile {
            capacity: self.capacity,
            ids: self.order.iter().cloned().collect(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SeenIds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let file = SeenFile::deserialize(deserializer)?;
        let mut seen = SeenIds::new(file.capacity);
        for id in &file.ids {
            seen.insert(id);
        }
        Ok(seen)
    }
}

/// Where one source resumes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    #[serde(default = "version")]
    pub v: u32,
    /// Hacker News: the largest `created_at_i` delivered; the next request asks for `>=` it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at_i: Option<i64>,
    /// Ids already delivered (bounded): RSS GUIDs, App Store review ids, HN ids.
    #[serde(default)]
    pub seen: SeenIds,
    /// Validators of the last good response (RSS conditional GET).
    #[serde(default)]
    pub validators: Validators,
    /// Mastodon: the largest status id delivered, the next `min_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Bluesky Jetstream: the `time_us` of the last event delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_us: Option<i64>,
    /// Mastodon REST mode: the statuses delivered recently, re-checked for deletions and edits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent: Vec<RecentStatus>,
}

/// A status delivered recently (Mastodon REST mode), to re-check for a deletion or an edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentStatus {
    /// The status id on its instance.
    pub id: String,
    /// Its `created_at`, epoch seconds (the re-check window is measured on it).
    pub at: i64,
    /// A hash of the text delivered last: a different text is an edit.
    pub text_hash: String,
}

fn version() -> u32 {
    CHECKPOINT_VERSION
}

impl Default for Checkpoint {
    fn default() -> Self {
        Checkpoint {
            v: CHECKPOINT_VERSION,
            created_at_i: None,
            seen: SeenIds::default(),
            validators: Validators::default(),
            cursor: None,
            time_us: None,
            recent: Vec::new(),
        }
    }
}

impl Checkpoint {
    pub fn new() -> Self {
        Checkpoint::default()
    }
}

/// A folder of checkpoint files, one per source.
#[derive(Debug, Clone)]
pub struct CheckpointStore {
    dir: PathBuf,
}

impl CheckpointStore {
    /// Uses `dir`, creating it if needed.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(CheckpointStore { dir })
    }

    pub fn path(&self, source: &str) -> io::Result<PathBuf> {
        let plain = !source.is_empty()
            && !source.starts_with('.')
            && source
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !plain {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("source name {source:?} is not a plain file name ([A-Za-z0-9._-])"),
            ));
        }
        Ok(self.dir.join(format!("{source}.json")))
    }

    /// The checkpoint of `source`, `None` when it has none yet. A corrupt file is an error
    /// (never silently a fresh start, which would re-deliver or skip).
    pub fn load(&self, source: &str) -> io::Result<Option<Checkpoint>> {
        let path = self.path(source)?;
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        let invalid = |reason: String| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("checkpoint {}: {reason}", path.display()),
            )
        };
        let checkpoint: Checkpoint =
            serde_json::from_slice(&bytes).map_err(|error| invalid(error.to_string()))?;
        if checkpoint.v > CHECKPOINT_VERSION {
            return Err(invalid(format!(
                "version {} is newer than this build reads ({CHECKPOINT_VERSION})",
                checkpoint.v
            )));
        }
        Ok(Some(checkpoint))
    }

    /// Writes the checkpoint of `source` atomically (temp file, sync, rename, sync folder).
    pub fn save(&self, source: &str, checkpoint: &Checkpoint) -> io::Result<()> {
        let path = self.path(source)?;
        let temp = self.dir.join(format!(".{source}.json.tmp"));
        let bytes = serde_json::to_vec_pretty(checkpoint).map_err(io::Error::other)?;
        {
            let mut file = std::fs::File::create(&temp)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
        }
        std::fs::rename(&temp, &path)?;
        sync_dir(&self.dir);
        Ok(())
    }
}

fn sync_dir(dir: &Path) {
    // Best effort: not every platform lets a folder be opened and synced.
    if let Ok(handle) = std::fs::File::open(dir) {
        let _ = handle.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_ids_are_bounded_fifo() {
        let mut seen = SeenIds::new(2);
        assert!(seen.insert("a"));
        assert!(!seen.insert("a"));
        assert!(seen.insert("b"));
        assert!(seen.insert("c"));
        assert!(!seen.contains("a"));
        assert_eq!(seen.iter().collect::<Vec<_>>(), ["b", "c"]);
        seen.set_capacity(1);
        assert_eq!(seen.iter().collect::<Vec<_>>(), ["c"]);
    }

    #[test]
    fn save_load_round_trip_and_bad_names() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::open(dir.path().join("cp")).unwrap();
        assert_eq!(store.load("hn").unwrap(), None);
        let mut checkpoint = Checkpoint::new();
        checkpoint.created_at_i = Some(42);
        checkpoint.seen.insert("x");
        checkpoint.validators.etag = Some("\"abc\"".to_string());
        store.save("hn", &checkpoint).unwrap();
        store.save("hn", &checkpoint).unwrap();
        assert_eq!(store.load("hn").unwrap(), Some(checkpoint.clone()));
        let names: Vec<_> = std::fs::read_dir(dir.path().join("cp"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["hn.json"], "no temp file left behind");
        for bad in ["", "../x", ".hidden", "a/b"] {
            assert!(store.save(bad, &checkpoint).is_err(), "{bad:?}");
        }
        std::fs::write(dir.path().join("cp/bad.json"), b"{not json").unwrap();
        assert!(store.load("bad").is_err());
        std::fs::write(dir.path().join("cp/new.json"), br#"{"v":99}"#).unwrap();
        assert!(store.load("new").is_err());
    }
}
