//! The one rule for tests that need something a machine may lack (a tool, a local service, the
//! shared data folder beside the repository): **skip outside CI, fail under CI.**
//!
//! Guarantees:
//! * [`running_in_ci`] is true when the environment variable `CI` is set to anything but the
//!   empty string, `false` or `0` (any case): `CI=true`, `CI=1`, `CI=yes` all count.
//! * [`skip_or_fail`] panics under CI with the test's name, what is missing and how to get it;
//!   elsewhere it prints one `SKIPPED <test>: <what>` line on stderr and returns, so the caller
//!   returns early. No test decides this by itself.
//! * [`shared_data`] finds `shared/data` beside the repository (or `$TIDEWATCH_SHARED_DATA`)
//!   and applies the same rule when a file of it is missing.

use std::path::PathBuf;

/// Whether missing prerequisites must fail tests: `CI` set, and not empty, `false` or `0`.
pub fn running_in_ci() -> bool {
    ci_value_requires_everything(std::env::var("CI").ok().as_deref())
}

fn ci_value_requires_everything(value: Option<&str>) -> bool {
    match value.map(str::trim) {
        None | Some("") | Some("0") => false,
        Some(value) => !value.eq_ignore_ascii_case("false"),
    }
}

/// A prerequisite of `test` is missing: `missing` says what and how to get it. Panics under CI;
/// otherwise prints why the test is skipped. The caller then returns without asserting.
#[track_caller]
pub fn skip_or_fail(test: &str, missing: &str) {
    assert!(
        !running_in_ci(),
        "{test}: {missing} (CI is set, so a missing prerequisite fails the test instead of skipping it)"
    );
    eprintln!("SKIPPED {test}: {missing}");
}

/// `available`, after calling [`skip_or_fail`] with `missing()` when it is false.
#[track_caller]
pub fn require(test: &str, available: bool, missing: impl FnOnce() -> String) -> bool {
    if !available {
        skip_or_fail(test, &missing());
    }
    available
}

/// The shared data folder: `$TIDEWATCH_SHARED_DATA` if set, else `shared/data` beside the
/// repository (where CI and the main checkout have it).
pub fn shared_data_dir() -> PathBuf {
    match std::env::var_os("TIDEWATCH_SHARED_DATA") {
        Some(directory) => PathBuf::from(directory),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data")),
    }
}

/// `relative` (a file or folder) under [`shared_data_dir`], or `None` after [`skip_or_fail`].
#[track_caller]
pub fn shared_data(test: &str, relative: &str) -> Option<PathBuf> {
    let path = shared_data_dir().join(relative);
    if path.exists() {
        return Some(path);
    }
    skip_or_fail(
        test,
        &format!(
            "{} is not there (the shared data folder belongs beside the repository, or set \
             TIDEWATCH_SHARED_DATA)",
            path.display()
        ),
    );
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_counts_unless_empty_false_or_zero() {
        for value in ["true", "1", "yes", "TRUE", "github"] {
            assert!(ci_value_requires_everything(Some(value)), "{value}");
        }
        for value in [
            None,
            Some(""),
            Some("0"),
            Some("false"),
            Some("False"),
            Some(" "),
        ] {
            assert!(!ci_value_requires_everything(value), "{value:?}");
        }
    }
}
