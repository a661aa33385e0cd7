//! The readiness registry: what a process's `/readyz` answers.
//!
//! Liveness (`/healthz`) says the process works; readiness says its dependencies accept its
//! work. Every part of a process that can tell (a dependency probe, a stage that is retrying a
//! failing sink, the collectors) registers a named component here and reports its state; the
//! HTTP endpoint only reads [`Readiness::report`].
//!
//! Guarantees:
//! * A component registered with [`Readiness::required`] makes the process unready while it is
//!   starting (never reported yet) or failing, and the report names it with its reason.
//! * Components registered with [`Readiness::one_of`] under one group make the process unready
//!   only when every member of that group is failing (the collectors: one source down is a
//!   degraded collector, every source down is an unready one). A starting member is not failing.
//! * No IO and no clock: the report is a pure function of the states reported so far, and a
//!   handle is cheap to clone and to call from any thread.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;

/// The state a component reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum ComponentState {
    /// Registered, no verdict yet (e.g. the first probe has not answered).
    Starting,
    Ready,
    /// Not accepting work, and why, in words an operator can act on.
    Failing {
        reason: String,
    },
}

/// One component as `/readyz` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComponentReport {
    #[serde(flatten)]
    pub state: ComponentState,
    /// The group of a [`Readiness::one_of`] component; absent for a required one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// What `/readyz` answers: `ready`, the reasons it is not (one line each), and every component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadinessReport {
    pub ready: bool,
    pub not_ready_because: Vec<String>,
    pub components: BTreeMap<String, ComponentReport>,
}

/// The registry of one process; clones share it.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    components: Arc<Mutex<BTreeMap<String, ComponentReport>>>,
}

impl Readiness {
    /// Registers `name` (state: starting) as a component the process cannot work without.
    pub fn required(&self, name: &str) -> ReadinessHandle {
        self.register(name, None)
    }

    /// Registers `name` (state: starting) as one of several interchangeable members of `group`:
    /// the group fails only when all of its members fail.
    pub fn one_of(&self, group: &str, name: &str) -> ReadinessHandle {
        self.register(name, Some(group.to_string()))
    }

    fn register(&self, name: &str, group: Option<String>) -> ReadinessHandle {
        self.lock().insert(
            name.to_string(),
            ComponentReport {
                state: ComponentState::Starting,
                group,
            },
        );
        ReadinessHandle {
            registry: self.clone(),
            name: name.to_string(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, ComponentReport>> {
        // A panic while holding this lock cannot leave the map half-updated (every write is
        // one insert or remove), so a poisoned lock is still safe to read.
        self.components
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The verdict and every component's state, for `/readyz`.
    pub fn report(&self) -> ReadinessReport {
        let components = self.lock().clone();
        let mut not_ready_because = Vec::new();
        let mut groups: BTreeMap<&str, (usize, Vec<String>)> = BTreeMap::new();
        for (name, component) in &components {
            let complaint = match &component.state {
                ComponentState::Ready => None,
                ComponentState::Starting => Some(format!("{name}: starting")),
                ComponentState::Failing { reason } => Some(format!("{name}: {reason}")),
            };
            match &component.group {
                None => not_ready_because.extend(complaint),
                Some(group) => {
                    let (members, failing) = groups.entry(group).or_default();
                    *members += 1;
                    if let ComponentState::Failing { .. } = component.state {
                        failing.extend(complaint);
                    }
                }
            }
        }
        for (group, (members, failing)) in groups {
            if failing.len() == members {
                not_ready_because.push(format!(
                    "every one of {group} is failing ({})",
                    failing.join("; ")
                ));
            }
        }
        ReadinessReport {
            ready: not_ready_because.is_empty(),
            not_ready_because,
            components,
        }
    }
}

/// A registered component's way to report; clones report for the same component.
#[derive(Debug, Clone)]
pub struct ReadinessHandle {
    registry: Readiness,
    name: String,
}

impl ReadinessHandle {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reports `state`; true when it differs from the last one reported (to log changes only).
    pub fn set(&self, state: ComponentState) -> bool {
        match self.registry.lock().get_mut(&self.name) {
            Some(component) if component.state != state => {
                component.state = state;
                true
            }
            _ => false,
        }
    }

    pub fn ready(&self) -> bool {
        self.set(ComponentState::Ready)
    }

    pub fn failing(&self, reason: impl Into<String>) -> bool {
        self.set(ComponentState::Failing {
            reason: reason.into(),
        })
    }

    /// Removes the component (it stopped on purpose and no longer takes part).
    pub fn withdraw(self) {
        self.registry.lock().remove(&self.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_registry_is_ready() {
        let report = Readiness::default().report();
        assert!(report.ready);
        assert!(report.not_ready_because.is_empty());
    }

    #[test]
    fn a_required_component_is_not_ready_until_it_reports_ready() {
        let readiness = Readiness::default();
        let clickhouse = readiness.required("clickhouse");
        assert_eq!(
            readiness.report().not_ready_because,
            ["clickhouse: starting"]
        );
        assert!(clickhouse.ready(), "a change");
        assert!(!clickhouse.ready(), "no change");
        assert!(readiness.report().ready);
        clickhouse.failing("authentication failed (code 193)");
        let report = readiness.report();
        assert!(!report.ready);
        assert_eq!(
            report.not_ready_because,
            ["clickhouse: authentication failed (code 193)"]
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["components"]["clickhouse"]["state"], "failing");
        assert_eq!(
            json["components"]["clickhouse"]["reason"],
            "authentication failed (code 193)"
        );
        assert!(json["components"]["clickhouse"].get("group").is_none());
    }

    #[test]
    fn a_group_is_unready_only_when_every_member_fails() {
        let readiness = Readiness::default();
        let mastodon = readiness.one_of("collectors", "collector:mastodon");
        let reddit = readiness.one_of("collectors", "collector:reddit");
        assert!(readiness.report().ready, "starting members are not failing");
        mastodon.failing("HTTP 503");
        assert!(readiness.report().ready, "one source down: degraded, ready");
        reddit.failing("HTTP 401");
        let report = readiness.report();
        assert!(!report.ready);
        assert_eq!(
            report.not_ready_because,
            ["every one of collectors is failing (collector:mastodon: HTTP 503; collector:reddit: HTTP 401)"]
        );
        reddit.ready();
        assert!(readiness.report().ready);
    }

    #[test]
    fn a_withdrawn_component_no_longer_counts() {
        let readiness = Readiness::default();
        let stage = readiness.required("stage:store");
        stage.failing("ClickHouse refuses inserts");
        let clone = stage.clone();
        stage.withdraw();
        clone.failing("reported after withdrawal");
        assert!(readiness.report().ready);
        assert!(readiness.report().components.is_empty());
    }
}
