//! The notify stage's state file: the policy and the pending deliveries, as one JSON document.
//!
//! Guarantees:
//! * Written atomically: the bytes go to `<path>.tmp` in the same folder, are synced, then
//!   renamed over `<path>`, and the folder is synced; a crash leaves the old or the new state,
//!   never a torn file.
//! * A missing file is a fresh start; an unreadable one, or one of a newer format version, is
//!   [`AlertError::CorruptState`], never silently a fresh start (which could re-page every open
//!   story).

use serde::{Deserialize, Serialize};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::AlertError;
use crate::outbox::PendingDelivery;
use crate::policy::AlertPolicy;

/// The version of the state file format.
pub(crate) const STATE_VERSION: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct StateFile {
    pub(crate) v: u32,
    pub(crate) policy: AlertPolicy,
    pub(crate) pending: Vec<PendingDelivery>,
}

fn io_error(path: &Path, source: io::Error) -> AlertError {
    AlertError::StateIo {
        path: path.display().to_string(),
        source,
    }
}

/// Reads the state at `path`; `None` when there is no file yet.
pub(crate) fn load(path: &Path) -> Result<Option<StateFile>, AlertError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(io_error(path, error)),
    };
    let corrupt = |message: String| AlertError::CorruptState {
        path: path.display().to_string(),
        message,
    };
    let state: StateFile =
        serde_json::from_slice(&bytes).map_err(|error| corrupt(error.to_string()))?;
    if state.v != STATE_VERSION {
        return Err(corrupt(format!(
            "format version {} (this build reads {STATE_VERSION})",
            state.v
        )));
    }
    Ok(Some(state))
}

fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Writes `bytes` to `path` atomically (temp file, sync, rename, sync the folder).
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), AlertError> {
    let folder = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder).map_err(|error| io_error(path, error))?;
    let temporary = temporary_path(path);
    let write = || -> io::Result<()> {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)?;
        std::fs::File::open(folder)?.sync_all()
    };
    write().map_err(|error| io_error(path, error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_is_fresh_and_round_trips() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("nested/alert.json");
        assert_eq!(load(&path).unwrap(), None);
        let state = StateFile {
            v: STATE_VERSION,
            ..StateFile::default()
        };
        write_atomically(&path, &serde_json::to_vec(&state).unwrap()).unwrap();
        assert_eq!(load(&path).unwrap(), Some(state));
        assert!(!temporary_path(&path).exists());
    }

    #[test]
    fn corrupt_or_newer_files_are_errors_not_fresh_starts() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("alert.json");
        std::fs::write(&path, b"{\"v\":1,\"pol").unwrap();
        assert!(matches!(load(&path), Err(AlertError::CorruptState { .. })));
        let newer = StateFile {
            v: STATE_VERSION + 1,
            ..StateFile::default()
        };
        std::fs::write(&path, serde_json::to_vec(&newer).unwrap()).unwrap();
        let error = load(&path).unwrap_err();
        assert!(error.to_string().contains("format version 2"), "{error}");
        assert!(!error.is_retryable());
    }
}
