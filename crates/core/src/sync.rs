//! `reconcile operate`'s policy, pure: each environment's `sync:` settings with their defaults,
//! whether its sync windows let an apply happen now (and until when not), and the controller's
//! decision for one environment from what a plan found.

use std::str::FromStr;

use serde::Serialize;

pub use crate::state::schema::WindowKind;
use crate::state::schema::{StateFile, SyncWindowSpec};

/// The environment name whose new commits are not applied by default.
pub const PRODUCTION: &str = "production";

/// An environment's sync policy, defaults filled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncPolicy {
    /// Apply new commits by itself.
    pub auto: bool,
    /// Undo drift without a new commit.
    pub self_heal: bool,
    /// The branch to follow; `None`: the operator's `--branch`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Only commits a tag matching this glob points at are applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub windows: Vec<SyncWindow>,
}

/// A sync window as written (validated when the file loaded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncWindow {
    pub kind: WindowKind,
    pub schedule: String,
    pub duration: String,
    pub timezone: String,
}

impl SyncPolicy {
    /// The policy of a state file: its `sync:` section with the defaults.
    pub fn of(state: &StateFile) -> SyncPolicy {
        let spec = state.sync.clone().unwrap_or_default();
        SyncPolicy {
            auto: spec.auto.unwrap_or(state.environment != PRODUCTION),
            self_heal: spec.self_heal.unwrap_or(false),
            branch: spec.branch,
            tags: spec.tags,
            windows: spec
                .windows
                .iter()
                .map(|w| SyncWindow {
                    kind: w.kind,
                    schedule: w.schedule.clone(),
                    duration: w.duration.clone(),
                    timezone: w.timezone.clone().unwrap_or_else(|| "UTC".into()),
                })
                .collect(),
        }
    }
}

/// A window ready to evaluate.
struct Parsed {
    cron: croner::Cron,
    duration: jiff::SignedDuration,
    zone: jiff::tz::TimeZone,
}

/// Why a window as written cannot be used: the field and the message.
pub fn check_window(window: &SyncWindowSpec) -> Vec<(&'static str, String, &'static str)> {
    let mut out = Vec::new();
    if let Err(e) = croner::Cron::from_str(&window.schedule) {
        out.push((
            "schedule",
            format!("`{}` is not a cron schedule: {e}", window.schedule),
            "write `MINUTE HOUR DAY MONTH WEEKDAY`, for example `0 16 * * FRI`",
        ));
    }
    match humantime::parse_duration(&window.duration) {
        Ok(d) if !d.is_zero() => {}
        _ => out.push((
            "duration",
            format!("`{}` is not a duration", window.duration),
            "write it like `2h`, `30m` or `64h`",
        )),
    }
    if let Some(zone) = &window.timezone
        && jiff::tz::db().get(zone).is_err()
    {
        out.push((
            "timezone",
            format!("`{zone}` is not an IANA time zone"),
            "write it like `Asia/Kolkata`, `Europe/Berlin` or `UTC`",
        ));
    }
    out
}

fn parse(window: &SyncWindow) -> Option<Parsed> {
    Some(Parsed {
        cron: croner::Cron::from_str(&window.schedule).ok()?,
        duration: jiff::SignedDuration::try_from(humantime::parse_duration(&window.duration).ok()?)
            .ok()?,
        zone: jiff::tz::db().get(&window.timezone).ok()?,
    })
}

/// Whether applies may happen at a moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum WindowState {
    Open,
    /// Closed until `until` (when the deny window ends, or the next allow window opens).
    Closed {
        until: Option<jiff::Timestamp>,
        reason: String,
    },
}

fn describe(window: &SyncWindow) -> String {
    format!(
        "{} window `{}` for {} ({})",
        match window.kind {
            WindowKind::Allow => "allow",
            WindowKind::Deny => "deny",
        },
        window.schedule,
        window.duration,
        window.timezone
    )
}

/// Where `windows` stand at `now`: a deny window in force closes (until it ends); with allow
/// windows, outside all of them is closed (until the next opens).
pub fn window_state(windows: &[SyncWindow], now: jiff::Timestamp) -> WindowState {
    // The end of the window `window` that contains `now`, if one does.
    let open_until = |window: &SyncWindow, parsed: &Parsed| {
        let here = now.to_zoned(parsed.zone.clone());
        let start = parsed.cron.find_previous_occurrence(&here, true).ok()?;
        let end = start.checked_add(parsed.duration).ok()?;
        (end.timestamp() > now).then(|| (end.timestamp(), describe(window)))
    };
    let parsed: Vec<(&SyncWindow, Parsed)> = windows
        .iter()
        .filter_map(|w| parse(w).map(|p| (w, p)))
        .collect();
    let denying = parsed
        .iter()
        .filter(|(w, _)| w.kind == WindowKind::Deny)
        .filter_map(|(w, p)| open_until(w, p))
        .max_by_key(|(end, _)| *end);
    if let Some((end, reason)) = denying {
        return WindowState::Closed {
            until: Some(end),
            reason,
        };
    }
    let allows: Vec<&(&SyncWindow, Parsed)> = parsed
        .iter()
        .filter(|(w, _)| w.kind == WindowKind::Allow)
        .collect();
    if allows.is_empty() || allows.iter().any(|(w, p)| open_until(w, p).is_some()) {
        return WindowState::Open;
    }
    let next = allows
        .iter()
        .filter_map(|(_, p)| {
            p.cron
                .find_next_occurrence(&now.to_zoned(p.zone.clone()), false)
                .ok()
                .map(|z| z.timestamp())
        })
        .min();
    WindowState::Closed {
        until: next,
        reason: format!(
            "outside every allow window ({})",
            allows
                .iter()
                .map(|(w, _)| describe(w))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// What a plan of the wanted commit found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    pub has_changes: bool,
    /// Differences on resources whose record matches the state: changed behind git's back.
    pub drift: usize,
    /// Differences the state asks for (a new commit), or that no record can tell apart.
    pub pending: usize,
    /// Data stores the plan would replace (never done by the operator).
    pub replaces: Vec<String>,
}

/// Why the controller applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The state asks for something new.
    Commit,
    /// Drift, undone by `self_heal`.
    SelfHeal,
}

/// The controller's decision for one environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    InSync,
    Apply {
        trigger: Trigger,
    },
    /// Changes stay, and why (reported, not applied).
    Hold {
        reason: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        until: Option<jiff::Timestamp>,
    },
}

/// What to do with an environment whose wanted commit is `commit`, given what its plan found,
/// the policy, the windows now, and the commit whose apply last failed (attempted once only).
pub fn decide(
    policy: &SyncPolicy,
    found: &Found,
    commit: &str,
    failed: Option<&str>,
    window: &WindowState,
) -> Decision {
    if !found.has_changes {
        return Decision::InSync;
    }
    let hold = |reason: String| Decision::Hold {
        reason,
        until: None,
    };
    if failed == Some(commit) {
        return hold(format!(
            "the apply of {commit} failed; waiting for a new commit or a retry"
        ));
    }
    if !found.replaces.is_empty() {
        return hold(format!(
            "the plan replaces {}: the operator never replaces a data store; apply it by hand with --allow-replace",
            found.replaces.join(", ")
        ));
    }
    let trigger = if found.pending > 0 {
        if !policy.auto {
            return hold("auto is off: new commits are applied by hand or by CI".into());
        }
        Trigger::Commit
    } else {
        if !policy.self_heal {
            return hold("drift: self_heal is off, so it is reported and not undone".into());
        }
        Trigger::SelfHeal
    };
    match window {
        WindowState::Open => Decision::Apply { trigger },
        WindowState::Closed { until, reason } => Decision::Hold {
            reason: format!("{reason} is closed to applies"),
            until: *until,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(kind: WindowKind, schedule: &str, duration: &str, timezone: &str) -> SyncWindow {
        SyncWindow {
            kind,
            schedule: schedule.into(),
            duration: duration.into(),
            timezone: timezone.into(),
        }
    }

    fn at(text: &str) -> jiff::Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn no_production_deploys_from_friday_16_to_monday_08_in_kolkata() {
        let weekend = [window(
            WindowKind::Deny,
            "0 16 * * FRI",
            "64h",
            "Asia/Kolkata",
        )];
        // Friday 2026-12-04 15:59 in Kolkata (UTC+05:30) is 10:29 UTC: open.
        assert_eq!(
            window_state(&weekend, at("2026-12-04T10:29:00Z")),
            WindowState::Open
        );
        // Saturday noon: closed until Monday 08:00 Kolkata = 02:30 UTC.
        match window_state(&weekend, at("2026-12-05T06:30:00Z")) {
            WindowState::Closed { until, reason } => {
                assert_eq!(until, Some(at("2026-12-07T02:30:00Z")));
                assert!(reason.contains("deny window `0 16 * * FRI`"), "{reason}");
            }
            open => panic!("{open:?}"),
        }
        assert_eq!(
            window_state(&weekend, at("2026-12-07T02:30:00Z")),
            WindowState::Open
        );
    }

    #[test]
    fn allow_windows_close_everything_outside_them() {
        let office = [window(WindowKind::Allow, "0 9 * * MON-FRI", "8h", "UTC")];
        assert_eq!(
            window_state(&office, at("2026-12-02T10:00:00Z")),
            WindowState::Open
        );
        match window_state(&office, at("2026-12-02T18:00:00Z")) {
            WindowState::Closed { until, .. } => {
                assert_eq!(until, Some(at("2026-12-03T09:00:00Z")))
            }
            open => panic!("{open:?}"),
        }
        // A deny window wins over an allow window.
        let both = [
            office[0].clone(),
            window(WindowKind::Deny, "0 12 * * *", "1h", "UTC"),
        ];
        assert!(matches!(
            window_state(&both, at("2026-12-02T12:30:00Z")),
            WindowState::Closed { .. }
        ));
    }

    #[test]
    fn a_commit_is_applied_by_policy_once_and_drift_only_with_self_heal() {
        let staging = SyncPolicy {
            auto: true,
            self_heal: false,
            branch: None,
            tags: None,
            windows: vec![],
        };
        let pending = Found {
            has_changes: true,
            pending: 1,
            ..Found::default()
        };
        let drift = Found {
            has_changes: true,
            drift: 1,
            ..Found::default()
        };
        let open = WindowState::Open;
        assert_eq!(
            decide(&staging, &Found::default(), "c1", None, &open),
            Decision::InSync
        );
        assert_eq!(
            decide(&staging, &pending, "c1", None, &open),
            Decision::Apply {
                trigger: Trigger::Commit
            }
        );
        // The same commit failed once: not again.
        assert!(matches!(
            decide(&staging, &pending, "c1", Some("c1"), &open),
            Decision::Hold { reason, .. } if reason.contains("the apply of c1 failed")
        ));
        assert_eq!(
            decide(&staging, &pending, "c2", Some("c1"), &open),
            Decision::Apply {
                trigger: Trigger::Commit
            }
        );
        assert!(matches!(
            decide(&staging, &drift, "c1", None, &open),
            Decision::Hold { reason, .. } if reason.contains("self_heal is off")
        ));
        let healing = SyncPolicy {
            self_heal: true,
            ..staging.clone()
        };
        assert_eq!(
            decide(&healing, &drift, "c1", None, &open),
            Decision::Apply {
                trigger: Trigger::SelfHeal
            }
        );
        let production = SyncPolicy {
            auto: false,
            ..staging.clone()
        };
        assert!(matches!(
            decide(&production, &pending, "c1", None, &open),
            Decision::Hold { .. }
        ));
        let replacing = Found {
            replaces: vec!["postgres".into()],
            ..pending.clone()
        };
        assert!(matches!(
            decide(&staging, &replacing, "c1", None, &open),
            Decision::Hold { reason, .. } if reason.contains("never replaces a data store")
        ));
        let closed = WindowState::Closed {
            until: Some(at("2026-12-07T02:30:00Z")),
            reason: "deny window `0 16 * * FRI` for 64h (Asia/Kolkata)".into(),
        };
        assert_eq!(
            decide(&staging, &pending, "c1", None, &closed),
            Decision::Hold {
                reason: "deny window `0 16 * * FRI` for 64h (Asia/Kolkata) is closed to applies"
                    .into(),
                until: Some(at("2026-12-07T02:30:00Z"))
            }
        );
    }
}
