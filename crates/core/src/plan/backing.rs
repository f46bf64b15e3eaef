//! Backing services (RDS PostgreSQL, ElastiCache Redis, Amazon MQ RabbitMQ): how each field change
//! is applied by AWS, what counts as the live value, and the change each entry needs.
//!
//! Every field has a rule: how to compare it and how AWS applies a change to it (now, with a
//! reboot, in the maintenance window, only by replacement, or not at all). Pending modifications
//! count as the live value, partial versions match any patch release, and storage grown by
//! autoscaling within the maximum is no difference: a plan never undoes what AWS did on its own.

use std::collections::BTreeMap;

use serde_json::Value;

use super::change::{
    Action, BackingModify, BackingWrite, Change, Operation, RecordStatus, ReplicaChange, Resource,
    ResourceKind, TagApi,
};
use super::fields::{ChangeClass, FieldChange};
use crate::model::{BackingKind, LiveBacking};
use crate::state::DesiredState;
use crate::state::desired::{COMMIT_TAG, DesiredBacking, FINGERPRINT_TAG};

/// When AWS applies a change of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timing {
    Now,
    /// Takes effect after a reboot (parameter groups).
    Reboot,
    /// In the maintenance window unless `apply_immediately`; `outage` when applying it interrupts.
    Window {
        outage: bool,
    },
    /// Amazon MQ: at the next reboot or maintenance window, whatever is asked.
    NextReboot,
    Replace,
    Never,
}

/// How two values of a field are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compare {
    Equal,
    /// Lists compared as sets.
    Set,
    /// A partial desired version matches any live version it is a prefix of; lower is a downgrade.
    Version,
    /// Live storage above the desired size but within `max_storage_gb` was grown by autoscaling.
    Storage,
    /// Turning encryption on replaces the resource; turning it off is impossible.
    Encryption,
    /// RDS backup retention: between two non-zero values at once, to or from 0 in the window.
    Retention,
}

struct Rule {
    field: &'static str,
    compare: Compare,
    timing: Timing,
}

const fn rule(field: &'static str, compare: Compare, timing: Timing) -> Rule {
    Rule {
        field,
        compare,
        timing,
    }
}

use Compare::{Encryption, Equal, Retention, Set, Storage, Version};
use Timing::{Never, NextReboot, Now, Reboot, Replace, Window};

/// RDS ModifyDBInstance, per the "Settings for DB instances" table of the RDS User Guide.
const POSTGRES: &[Rule] = &[
    rule("engine", Equal, Never),
    rule("version", Version, Window { outage: true }),
    rule("instance_class", Equal, Window { outage: true }),
    rule("storage_gb", Storage, Window { outage: false }),
    rule("max_storage_gb", Equal, Now),
    rule("storage_type", Equal, Window { outage: false }),
    rule("multi_az", Equal, Window { outage: false }),
    rule("backup_retention_days", Retention, Window { outage: true }),
    rule("backup_window", Equal, Now),
    rule("maintenance_window", Equal, Now),
    rule("deletion_protection", Equal, Now),
    rule("storage_encrypted", Encryption, Replace),
    rule("parameter_group", Equal, Reboot),
    rule("subnet_group", Equal, Window { outage: true }),
    rule("security_groups", Set, Now),
    rule("master_username", Equal, Replace),
    rule("database", Equal, Replace),
    rule("managed_master_password", Equal, Now),
];

/// ElastiCache ModifyReplicationGroup / Increase- and DecreaseReplicaCount.
const REDIS: &[Rule] = &[
    rule("engine", Equal, Never),
    rule("version", Version, Window { outage: false }),
    rule("node_type", Equal, Window { outage: false }),
    rule("replicas", Equal, Now),
    rule("automatic_failover", Equal, Now),
    rule("multi_az", Equal, Now),
    rule("transit_encryption", Encryption, Replace),
    rule("at_rest_encryption", Encryption, Replace),
    rule("auth_token", Equal, Now),
    rule("parameter_group", Equal, Reboot),
    rule("subnet_group", Equal, Replace),
    rule("security_groups", Set, Now),
    rule("maintenance_window", Equal, Now),
];

/// Amazon MQ UpdateBroker; RabbitMQ brokers take their users and network only at creation.
const RABBITMQ: &[Rule] = &[
    rule("engine", Equal, Never),
    rule("version", Version, NextReboot),
    rule("instance_type", Equal, NextReboot),
    rule("deployment_mode", Equal, Replace),
    rule("admin_user", Equal, Replace),
    rule("auto_minor_version_upgrade", Equal, Now),
    rule("maintenance_window", Equal, Now),
    rule("publicly_accessible", Equal, Replace),
    rule("subnets", Set, Replace),
    rule("security_groups", Set, Now),
];

fn rules(kind: BackingKind) -> &'static [Rule] {
    match kind {
        BackingKind::Postgres => POSTGRES,
        BackingKind::Redis => REDIS,
        BackingKind::Rabbitmq => RABBITMQ,
    }
}

/// Every field a kind manages, for documentation and tests.
pub fn managed_fields(kind: BackingKind) -> Vec<&'static str> {
    rules(kind).iter().map(|rule| rule.field).collect()
}

/// The numeric parts of a version (`16.4` -> [16, 4]); `None` when it is not one.
fn version_parts(value: &Value) -> Option<Vec<u64>> {
    value
        .as_str()?
        .split('.')
        .map(|part| part.parse().ok())
        .collect()
}

fn sorted(value: &Value) -> Value {
    match value {
        Value::Array(items) => {
            let mut items = items.clone();
            items.sort_by_key(|item| item.to_string());
            Value::Array(items)
        }
        other => other.clone(),
    }
}

/// What a comparison of one field found.
#[derive(Debug, PartialEq)]
enum Verdict {
    Same,
    /// The same, except that AWS upgraded it past a pinned version: worth saying, not changing.
    Upgraded(String),
    Differs(ChangeClass),
    Refused(String),
}

fn class_of(timing: Timing, apply_immediately: bool) -> ChangeClass {
    match timing {
        Now => ChangeClass::InPlace,
        Reboot => ChangeClass::InPlaceReboot,
        Window { outage } if apply_immediately => {
            if outage {
                ChangeClass::InPlaceReboot
            } else {
                ChangeClass::InPlace
            }
        }
        Window { .. } | NextReboot => ChangeClass::Deferred,
        Replace => ChangeClass::ForcesReplacement,
        Never => ChangeClass::NotAllowed,
    }
}

fn verdict(
    rule: &Rule,
    desired: &Value,
    live: Option<&Value>,
    settings: &BTreeMap<String, Value>,
    apply_immediately: bool,
) -> Verdict {
    let class = class_of(rule.timing, apply_immediately);
    let Some(live) = live else {
        // A value AWS does not report (RabbitMQ users) is never a reason to replace a resource.
        return if class == ChangeClass::ForcesReplacement {
            Verdict::Same
        } else {
            Verdict::Differs(class)
        };
    };
    let same = match rule.compare {
        Equal => desired == live,
        Set => sorted(desired) == sorted(live),
        Version => {
            let (Some(want), Some(have)) = (version_parts(desired), version_parts(live)) else {
                return if desired == live {
                    Verdict::Same
                } else {
                    Verdict::Differs(class)
                };
            };
            if have.starts_with(&want) {
                return Verdict::Same;
            }
            // Pinned to the last part (`16.3`) and AWS moved that part on (`16.4`, an automatic
            // minor upgrade): what runs is the state's version, upgraded; nothing to do or refuse.
            // A major version alone (`15` against `16`) is a downgrade, never an upgrade by AWS.
            if want.len() >= 2
                && want.len() == have.len()
                && want[..want.len() - 1] == have[..have.len() - 1]
                && want < have
            {
                return Verdict::Upgraded(format!(
                    "AWS upgraded it to {live} past the pinned {desired}; nothing is changed. Write {live} (or the major version alone) in the state file to match"
                ));
            }
            if want < have {
                return Verdict::Refused(format!(
                    "{live} cannot be downgraded to {desired}: AWS upgrades engines only (restore a snapshot into a new resource instead)"
                ));
            }
            false
        }
        Storage => {
            let (want, have) = (desired.as_u64(), live.as_u64());
            let max = settings
                .get("max_storage_gb")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            match (want, have) {
                (Some(want), Some(have)) if have > want && max > 0 && have <= max => true,
                (Some(want), Some(have)) if have > want => {
                    return Verdict::Refused(format!(
                        "storage cannot shrink from {have} to {want} GiB: RDS only grows storage (set storage_gb to {have} or more)"
                    ));
                }
                _ => desired == live,
            }
        }
        Encryption => match (desired.as_bool(), live.as_bool()) {
            (Some(false), Some(true)) => {
                return Verdict::Refused(
                    "encryption cannot be turned off on an existing resource".into(),
                );
            }
            _ => desired == live,
        },
        Retention => {
            if desired == live {
                true
            } else {
                let non_zero = |value: &Value| value.as_u64().is_some_and(|days| days > 0);
                if non_zero(desired) && non_zero(live) {
                    return Verdict::Differs(ChangeClass::InPlace);
                }
                false
            }
        }
    };
    match (same, rule.timing) {
        (true, _) => Verdict::Same,
        (false, Never) => Verdict::Refused(format!(
            "{live} cannot become {desired}: create a new backing entry and move the data"
        )),
        (false, _) => Verdict::Differs(class),
    }
}

/// What one backing entry needs, field by field.
#[derive(Debug, Default, PartialEq)]
pub struct Assessment {
    /// Every differing or pending field, each with its class.
    pub fields: Vec<FieldChange>,
    /// Fields to write, with their desired values (replacement fields excluded).
    pub writes: BTreeMap<String, Value>,
    /// The live values of the fields to write, for operations that depend on the direction.
    pub before: BTreeMap<String, Value>,
    /// Why the plan cannot be carried out, if it cannot.
    pub refusals: Vec<String>,
    /// Some field can only change by replacing the resource.
    pub replace: bool,
    /// What is worth knowing and needs no change (a pinned version AWS upgraded), as `field: note`.
    pub notes: Vec<String>,
}

/// Compares a desired entry with its live resource, pending modifications applied.
pub fn assess(desired: &DesiredBacking, live: &LiveBacking) -> Assessment {
    let mut out = Assessment::default();
    for rule in rules(desired.kind) {
        let Some(want) = desired.settings.get(rule.field) else {
            continue;
        };
        let current = live.settings.get(rule.field);
        let pending = live.pending.get(rule.field);
        let effective = pending.or(current);
        let change = |class: ChangeClass, before: Option<&Value>, after: &Value| {
            FieldChange::new(rule.field, before.cloned(), Some(after.clone())).class(class)
        };
        match verdict(
            rule,
            want,
            effective,
            &desired.settings,
            desired.apply_immediately,
        ) {
            Verdict::Same => {
                if let Some(pending) = pending
                    && Some(pending) != current
                {
                    out.fields
                        .push(change(ChangeClass::Pending, current, pending));
                }
            }
            Verdict::Upgraded(note) => out.notes.push(format!("{}: {note}", rule.field)),
            Verdict::Refused(reason) => {
                out.refusals.push(format!("{}: {reason}", rule.field));
                out.fields
                    .push(change(ChangeClass::NotAllowed, effective, want));
            }
            Verdict::Differs(class) => {
                out.fields.push(change(class, effective, want));
                if class == ChangeClass::ForcesReplacement {
                    out.replace = true;
                } else {
                    out.writes.insert(rule.field.to_string(), want.clone());
                    if let Some(before) = effective {
                        out.before.insert(rule.field.to_string(), before.clone());
                    }
                }
            }
        }
    }
    out
}

fn resource(backing: &DesiredBacking) -> Resource {
    Resource {
        kind: ResourceKind::from(backing.kind),
        name: backing.name.clone(),
    }
}

/// The change each backing entry needs, the reasons no plan can be made, and notes for the plan's
/// warnings (each as `KIND NAME: field: text`).
pub(super) fn backing_changes(
    state: &DesiredState,
    live: &BTreeMap<String, LiveBacking>,
) -> (Vec<Change>, Vec<String>, Vec<String>) {
    let mut changes = Vec::new();
    let mut refusals = Vec::new();
    let mut notes = Vec::new();
    for backing in &state.backing {
        // The record of the settings applied, as on services: tells drift from pending work.
        let fingerprint = crate::fingerprint::fingerprint(&backing.settings);
        let mut record = BTreeMap::from([(FINGERPRINT_TAG.to_string(), fingerprint.clone())]);
        if let Some(commit) = &state.commit {
            record.insert(COMMIT_TAG.to_string(), commit.clone());
        }
        let spec = || BackingWrite {
            key: backing.key.clone(),
            kind: backing.kind,
            name: backing.name.clone(),
            settings: backing.settings.clone(),
            secret: backing.secret.clone().map(String::from),
            tags: state
                .tags
                .iter()
                .chain(&record)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            description: format!("reconcile {}/{}", state.environment, backing.key),
        };
        let Some(current) = live.get(&backing.key) else {
            if backing.settings.get("managed_master_password") == Some(&Value::Bool(false)) {
                refusals.push(format!(
                    "backing service {} ({} {}) does not exist, and reconcile creates DB instances only with an RDS-managed master password: remove `managed_master_password: false`",
                    backing.key,
                    backing.kind.label(),
                    backing.name
                ));
                continue;
            }
            // Every setting it is created with, as Terraform shows a resource to create.
            changes.push(Change {
                resource: resource(backing),
                action: Action::Create,
                reason: "does not exist".into(),
                fields: backing
                    .settings
                    .iter()
                    .map(|(field, value)| FieldChange::new(field, None, Some(value.clone())))
                    .collect(),
                content: None,
                record: Some(record_status(backing.kind, true)),
                operation: Operation::CreateBacking { backing: spec() },
            });
            continue;
        };
        let assessment = assess(backing, current);
        // Tags to write with any change: the fingerprint only when it moves, where tags are read.
        let record_stale = current
            .tags
            .as_ref()
            .is_some_and(|tags| tags.get(FINGERPRINT_TAG) != Some(&fingerprint));
        let mut record_tags = BTreeMap::new();
        if current.tags.is_some() {
            record_tags = record.clone();
            if !record_stale {
                record_tags.remove(FINGERPRINT_TAG);
            }
        }
        let record = current.tags.as_ref().map_or(RecordStatus::Unrecorded, |_| {
            record_status(backing.kind, record_stale)
        });
        let modify = || modify_operation(backing, current, &assessment, record_tags.clone());
        refusals.extend(
            assessment
                .refusals
                .iter()
                .map(|reason| format!("{} {}: {reason}", backing.kind.label(), backing.name)),
        );
        notes.extend(
            assessment
                .notes
                .iter()
                .map(|note| format!("{} {}: {note}", backing.kind.label(), backing.name)),
        );
        let ready = backing.kind.ready_status();
        let waiting = if current.status == ready {
            String::new()
        } else {
            format!(
                "; it is `{}`: apply waits until it is `{ready}` before writing",
                current.status
            )
        };
        let (action, reason, operation) = if assessment.replace {
            (
                Action::Replace,
                format!(
                    "a setting can only change by replacing it; apply refuses unless run with `--allow-replace {}`{waiting}",
                    backing.key
                ),
                Operation::ReplaceBacking {
                    id: current.id.clone(),
                    backing: spec(),
                    deletion_protected: current
                        .settings
                        .get("deletion_protection")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                },
            )
        } else if !assessment.writes.is_empty() {
            let deferred = assessment
                .fields
                .iter()
                .any(|f| f.class == Some(ChangeClass::Deferred));
            (
                Action::Update,
                format!(
                    "{}{waiting}",
                    if deferred {
                        "modify; AWS applies deferred fields in the next maintenance window"
                    } else {
                        "modify"
                    }
                ),
                modify(),
            )
        } else if record_stale
            && assessment
                .fields
                .iter()
                .all(|f| f.class == Some(ChangeClass::Pending))
        {
            (
                Action::Update,
                format!("record the applied settings (tag {FINGERPRINT_TAG}){waiting}"),
                Operation::TagResource {
                    api: TagApi::Backing(backing.kind),
                    arn: current.arn.clone(),
                    tags: record_tags.clone(),
                },
            )
        } else if assessment.fields.is_empty() {
            (
                Action::NoOp,
                "matches the state".to_string(),
                Operation::None,
            )
        } else {
            (
                Action::NoOp,
                "matches the state once AWS applies its pending changes".to_string(),
                Operation::None,
            )
        };
        let record = match (&operation, action) {
            (_, Action::NoOp) => None,
            // A replacement is the state's doing, whatever the record says.
            (Operation::ReplaceBacking { .. }, _) => Some(record_status(backing.kind, true)),
            _ => Some(record),
        };
        changes.push(Change {
            fields: assessment.fields,
            record,
            ..Change::new(resource(backing), action, reason, operation)
        });
    }
    (changes, refusals, notes)
}

/// Where the describe call reports tags (RDS, Amazon MQ), the record tells drift from pending;
/// ElastiCache's does not, so its differences are unrecorded.
fn record_status(kind: BackingKind, stale: bool) -> RecordStatus {
    match kind {
        BackingKind::Redis => RecordStatus::Unrecorded,
        BackingKind::Postgres | BackingKind::Rabbitmq if stale => RecordStatus::Stale,
        BackingKind::Postgres | BackingKind::Rabbitmq => RecordStatus::Matches,
    }
}

/// The major part of a version (`16.4` -> `16`).
fn major(version: Option<&Value>) -> Option<&str> {
    version?.as_str()?.split('.').next()
}

/// The ModifyBacking of an entry's writes, with every choice the APIs need made here: whether an
/// RDS version change crosses a major version, whether ElastiCache replicas are added or removed,
/// whether the Redis AUTH token's value must be sent, and when AWS carries the writes out.
fn modify_operation(
    backing: &DesiredBacking,
    current: &LiveBacking,
    assessment: &Assessment,
    record: BTreeMap<String, String>,
) -> Operation {
    let writes = &assessment.writes;
    let before = &assessment.before;
    let allow_major_version_upgrade = backing.kind == BackingKind::Postgres
        && writes.contains_key("version")
        && major(writes.get("version")) != major(before.get("version"));
    let replicas = match (backing.kind, writes.get("replicas").and_then(Value::as_i64)) {
        (BackingKind::Redis, Some(wanted)) => {
            let wanted = i32::try_from(wanted).unwrap_or(i32::MAX);
            let live = before.get("replicas").and_then(Value::as_i64).unwrap_or(0);
            Some(if i64::from(wanted) > live {
                ReplicaChange::Increase(wanted)
            } else {
                ReplicaChange::Decrease(wanted)
            })
        }
        _ => None,
    };
    let sends_token = backing.kind == BackingKind::Redis
        && writes.get("auth_token").and_then(Value::as_bool) == Some(true);
    let takes_effect = match (backing.kind, backing.apply_immediately) {
        (BackingKind::Rabbitmq, _) => {
            "; engine version and instance type take effect at the next reboot or maintenance window"
        }
        (_, false) => "; what AWS defers waits for the maintenance window",
        (_, true) => "",
    };
    Operation::ModifyBacking(BackingModify {
        key: backing.key.clone(),
        kind: backing.kind,
        name: backing.name.clone(),
        id: current.id.clone(),
        changes: writes.clone(),
        before: before.clone(),
        apply_immediately: backing.apply_immediately,
        allow_major_version_upgrade,
        replicas,
        secret: backing
            .secret
            .clone()
            .map(String::from)
            .filter(|_| sends_token),
        takes_effect: takes_effect.to_string(),
        arn: current.arn.clone(),
        record,
    })
}
