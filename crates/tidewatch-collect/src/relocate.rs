//! Carrying collector checkpoints from an older location into the current one.
//!
//! Earlier builds kept the checkpoints under `<state_dir>/<group_prefix or "embedded">/collectors/`,
//! so adding `[kafka]` or changing `group_prefix` silently restarted every collector from
//! nothing. Checkpoints now live in one place that does not depend on the bus
//! (`<state_dir>/collectors/`, chosen by the binary), and [`carry_checkpoints`] moves the old
//! ones there once.
//!
//! Guarantees:
//! * A source that already has a checkpoint in the current folder keeps it; older copies are
//!   left alone and never consulted.
//! * A source without one takes the single checkpoint found in the old folders: it is read and
//!   checked like any checkpoint (a corrupt file is an error, never a fresh start), written
//!   atomically into the current folder, and only then is the old file renamed to
//!   `<name>.json.moved` (so it is not found again, and an operator can still see it).
//! * Two old checkpoints of one source that differ (two `group_prefix` histories) are a
//!   [`RelocateError::Ambiguous`] naming both files: the start stops rather than guess which one
//!   the collector should resume from.

use crate::cursor::CheckpointStore;
use std::path::{Path, PathBuf};

/// One checkpoint carried into the current folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carried {
    pub source_name: String,
    pub from: PathBuf,
}

/// Why the checkpoints could not be carried over (fatal: the start stops).
#[derive(Debug, thiserror::Error)]
pub enum RelocateError {
    #[error(
        "source {source_name:?} has different checkpoints in {} (left by runs with different \
         [kafka] group_prefix settings): move the one to resume from to {} and delete the others",
        .candidates.iter().map(|path| path.display().to_string()).collect::<Vec<_>>().join(" and "),
        .target.display()
    )]
    Ambiguous {
        source_name: String,
        candidates: Vec<PathBuf>,
        target: PathBuf,
    },
    #[error("checkpoint {}: {reason}", .path.display())]
    Io { path: PathBuf, reason: String },
}

/// Moves the checkpoint of each of `names` that `current` lacks from `old_dirs` (see the module
/// docs). Returns what was carried.
pub fn carry_checkpoints(
    current: &CheckpointStore,
    old_dirs: &[PathBuf],
    names: &[&str],
) -> Result<Vec<Carried>, RelocateError> {
    let mut carried = Vec::new();
    for name in names {
        let io = |path: &Path, error: std::io::Error| RelocateError::Io {
            path: path.to_path_buf(),
            reason: error.to_string(),
        };
        let target = current
            .path(name)
            .map_err(|error| io(Path::new(name), error))?;
        if target.exists() {
            continue;
        }
        let mut found: Vec<(PathBuf, Vec<u8>)> = Vec::new();
        for dir in old_dirs {
            let candidate = dir.join(format!("{name}.json"));
            match std::fs::read(&candidate) {
                Ok(bytes) => found.push((candidate, bytes)),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(io(&candidate, error)),
            }
        }
        let Some((first, bytes)) = found.first().cloned() else {
            continue;
        };
        if found.iter().any(|(_, other)| *other != bytes) {
            return Err(RelocateError::Ambiguous {
                source_name: name.to_string(),
                candidates: found.into_iter().map(|(path, _)| path).collect(),
                target,
            });
        }
        let old = CheckpointStore::open(first.parent().unwrap_or(Path::new(".")))
            .map_err(|error| io(&first, error))?;
        let checkpoint = old
            .load(name)
            .map_err(|error| io(&first, error))?
            .unwrap_or_default();
        current
            .save(name, &checkpoint)
            .map_err(|error| io(&target, error))?;
        for (path, _) in &found {
            let moved = path.with_extension("json.moved");
            std::fs::rename(path, &moved).map_err(|error| io(path, error))?;
        }
        carried.push(Carried {
            source_name: name.to_string(),
            from: first,
        });
    }
    Ok(carried)
}

/// The old checkpoint folders under `state_dir`: `<state_dir>/*/collectors`, except `current`.
pub fn legacy_dirs(state_dir: &Path, current: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(state_dir) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|entry| entry.path().join("collectors"))
        .filter(|dir| dir.is_dir() && dir != current)
        .collect();
    dirs.sort();
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cursor::Checkpoint;

    fn checkpoint(watermark: i64) -> Checkpoint {
        Checkpoint {
            created_at_i: Some(watermark),
            ..Checkpoint::default()
        }
    }

    #[test]
    fn carries_one_refuses_two_and_keeps_the_current() {
        let state = tempfile::tempdir().unwrap();
        let current_dir = state.path().join("collectors");
        let current = CheckpointStore::open(&current_dir).unwrap();
        let embedded = CheckpointStore::open(state.path().join("embedded/collectors")).unwrap();
        let kafka = CheckpointStore::open(state.path().join("tidewatch/collectors")).unwrap();
        embedded.save("hn", &checkpoint(7)).unwrap();
        embedded.save("both", &checkpoint(1)).unwrap();
        kafka.save("both", &checkpoint(2)).unwrap();
        current.save("kept", &checkpoint(9)).unwrap();
        kafka.save("kept", &checkpoint(3)).unwrap();
        let old = legacy_dirs(state.path(), &current_dir);
        assert_eq!(old.len(), 2, "{old:?}");

        let carried = carry_checkpoints(&current, &old, &["hn", "kept", "new"]).unwrap();
        assert_eq!(carried.len(), 1);
        assert_eq!(current.load("hn").unwrap(), Some(checkpoint(7)));
        assert_eq!(current.load("kept").unwrap(), Some(checkpoint(9)));
        assert_eq!(current.load("new").unwrap(), None);
        assert!(state
            .path()
            .join("embedded/collectors/hn.json.moved")
            .exists());
        // Carried once: a second start finds it in place.
        assert!(carry_checkpoints(&current, &old, &["hn"])
            .unwrap()
            .is_empty());

        let error = carry_checkpoints(&current, &old, &["both"]).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("\"both\""), "{message}");
        assert!(
            message.contains("embedded/collectors/both.json"),
            "{message}"
        );
        assert!(
            message.contains("tidewatch/collectors/both.json"),
            "{message}"
        );
        assert_eq!(current.load("both").unwrap(), None);
    }
}
