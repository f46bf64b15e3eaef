//! The `backing:` section: names AWS accepts, versions, sizes, windows, secret references and the
//! combinations AWS refuses (failover without replicas, AUTH without TLS, ...).

use super::finding::{Finding, finding};
use crate::state::desired::SecretRef;
use crate::state::naming::Names;
use crate::state::schema::{BackingSpec, DeploymentMode, StateFile};

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// `hh:mm` with hh < 24 and mm < 60.
fn is_time(text: &str) -> bool {
    let Some((hours, minutes)) = text.split_once(':') else {
        return false;
    };
    hours.len() == 2
        && minutes.len() == 2
        && hours.parse::<u8>().is_ok_and(|h| h < 24)
        && minutes.parse::<u8>().is_ok_and(|m| m < 60)
}

/// `ddd:hh:mm`.
fn is_day_time(text: &str) -> bool {
    text.split_once(':')
        .is_some_and(|(day, time)| DAYS.contains(&day) && is_time(time))
}

/// RDS and ElastiCache identifiers: a letter, then letters, digits and single hyphens.
fn is_identifier(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
        && !name.contains("--")
}

fn is_version(version: &str) -> bool {
    !version.is_empty()
        && version
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()))
}

struct Checker<'a> {
    path: String,
    out: &'a mut Vec<Finding>,
}

impl Checker<'_> {
    fn fail(&mut self, field: &str, message: String, help: &str) {
        self.out
            .push(finding(format!("{}.{field}", self.path), message, help));
    }

    fn identifier(&mut self, name: &str, max: usize, what: &str) {
        if !is_identifier(name, max) {
            self.fail(
                "name",
                format!("`{name}` is not a valid {what}"),
                &format!(
                    "use at most {max} lowercase letters, digits and single hyphens, starting with a letter"
                ),
            );
        }
    }

    fn version(&mut self, version: &str, example: &str) {
        if !is_version(version) {
            self.fail(
                "version",
                format!("`{version}` is not an engine version"),
                &format!("write numbers separated by dots, for example `\"{example}\"`"),
            );
        }
    }

    fn class(&mut self, field: &str, value: &str, prefix: &str, example: &str) {
        if !value.starts_with(prefix) || value.len() <= prefix.len() || value.contains(' ') {
            self.fail(
                field,
                format!("`{value}` is not a valid {field}"),
                &format!("write a type starting with `{prefix}`, for example `{example}`"),
            );
        }
    }

    /// A type AWS does not offer (checked when the value at least looks like a type).
    fn offered(&mut self, field: &str, value: &str, offered: fn(&str) -> Result<(), String>) {
        if value.split('.').count() == 3
            && let Err(help) = offered(value)
        {
            self.fail(field, format!("AWS offers no {field} `{value}`"), &help);
        }
    }

    fn window(&mut self, window: &Option<String>, field: &str, weekly: bool) {
        let Some(window) = window else { return };
        let valid = window.split_once('-').is_some_and(|(from, to)| {
            if weekly {
                is_day_time(from) && is_day_time(to)
            } else {
                is_time(from) && is_time(to)
            }
        });
        if !valid {
            let example = if weekly {
                "`sun:03:00-sun:04:00`"
            } else {
                "`02:00-03:00`"
            };
            self.fail(
                field,
                format!("`{window}` is not a window"),
                &format!("write it in UTC as {example}"),
            );
        }
    }

    fn security_groups(&mut self, groups: &Option<Vec<String>>) {
        for (index, group) in groups.iter().flatten().enumerate() {
            if !group.starts_with("sg-") {
                self.fail(
                    &format!("security_groups.{index}"),
                    format!("`{group}` is not a security group id"),
                    "write an id such as `sg-0123456789abcdef0`",
                );
            }
        }
    }

    fn secret(&mut self, field: &str, reference: &str) {
        match SecretRef::parse(reference) {
            Some(SecretRef::Arn(_)) | None => self.fail(
                field,
                "not a secret reference".into(),
                "write `secretsmanager:NAME[:JSON_KEY]` or `ssm:/PARAMETER/NAME`; never the value itself",
            ),
            Some(_) => {}
        }
    }
}

/// Checks every entry of `backing:`.
pub(super) fn check_backing(state: &StateFile, out: &mut Vec<Finding>) {
    let names = Names::new(&state.prefix, &state.environment);
    let mut seen: Vec<(std::mem::Discriminant<BackingSpec>, String, &str)> = Vec::new();
    for (key, spec) in &state.backing {
        let path = format!("backing.{key}");
        let name = match spec {
            BackingSpec::Postgres(s) => s.name.clone(),
            BackingSpec::Redis(s) => s.name.clone(),
            BackingSpec::Rabbitmq(s) => s.name.clone(),
        }
        .unwrap_or_else(|| names.backing(key));
        let kind = std::mem::discriminant(spec);
        if let Some((_, _, other)) = seen.iter().find(|(k, n, _)| *k == kind && *n == name) {
            out.push(finding(
                format!("{path}.name"),
                format!("`{name}` is also the name of backing.{other}"),
                "give each entry its own name",
            ));
        }
        seen.push((kind, name.clone(), key));
        if !key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
            || !key.starts_with(|c: char| c.is_ascii_lowercase())
        {
            out.push(finding(
                format!("{path}#key"),
                format!("`{key}` is not a valid backing-service key"),
                "use lowercase letters, digits, `-` and `_`, starting with a letter: it is written in references such as `${postgres.address}`",
            ));
        }
        let mut check = Checker { path, out };
        match spec {
            BackingSpec::Postgres(pg) => {
                check.identifier(&name, 63, "DB instance identifier");
                check.version(&pg.version, "16");
                check.class("instance_class", &pg.instance_class, "db.", "db.t4g.medium");
                if !(20..=65536).contains(&pg.storage_gb) {
                    check.fail(
                        "storage_gb",
                        format!("{} GiB is outside what RDS allocates", pg.storage_gb),
                        "write a size from 20 to 65536",
                    );
                }
                // RDS requires the autoscaling limit to be at least 10% above the allocation.
                if let Some(max) = pg.max_storage_gb
                    && u64::from(max) * 10 < u64::from(pg.storage_gb) * 11
                {
                    check.fail(
                        "max_storage_gb",
                        format!(
                            "max_storage_gb {max} is less than 10% above storage_gb {}",
                            pg.storage_gb
                        ),
                        &format!(
                            "set it to {} or more (RDS's minimum), or remove it to turn storage autoscaling off",
                            (u64::from(pg.storage_gb) * 11).div_ceil(10)
                        ),
                    );
                }
                if let Some(kind) = &pg.storage_type
                    && !["gp2", "gp3", "io1", "io2", "standard"].contains(&kind.as_str())
                {
                    check.fail(
                        "storage_type",
                        format!("unknown storage type `{kind}`"),
                        "one of: gp3, gp2, io1, io2, standard",
                    );
                }
                if pg.backup_retention_days.is_some_and(|days| days > 35) {
                    check.fail(
                        "backup_retention_days",
                        "RDS keeps backups for at most 35 days".into(),
                        "write 0 to 35",
                    );
                }
                check.window(&pg.backup_window, "backup_window", false);
                check.window(&pg.maintenance_window, "maintenance_window", true);
                check.security_groups(&pg.security_groups);
            }
            BackingSpec::Redis(redis) => {
                check.identifier(&name, 40, "replication group id");
                check.version(&redis.version, "7.1");
                check.class("node_type", &redis.node_type, "cache.", "cache.t4g.small");
                check.offered(
                    "node_type",
                    &redis.node_type,
                    super::offered::cache_node_type,
                );
                let replicas = redis.replicas.unwrap_or(0);
                if replicas > 5 {
                    check.fail(
                        "replicas",
                        format!("{replicas} replicas: a shard has at most 5"),
                        "write 0 to 5",
                    );
                }
                let failover = redis.automatic_failover.unwrap_or(replicas > 0);
                if failover && replicas == 0 {
                    check.fail(
                        "automatic_failover",
                        "automatic failover needs at least one replica".into(),
                        "set `replicas: 1` or more, or `automatic_failover: false`",
                    );
                }
                if redis.multi_az == Some(true) && !failover {
                    check.fail(
                        "multi_az",
                        "Multi-AZ needs automatic failover".into(),
                        "set `automatic_failover: true` (with replicas), or remove `multi_az`",
                    );
                }
                if let Some(token) = &redis.auth_token {
                    check.secret("auth_token", token);
                    if redis.transit_encryption == Some(false) {
                        check.fail(
                            "auth_token",
                            "Redis AUTH needs transit encryption".into(),
                            "remove `transit_encryption: false`, or remove `auth_token`",
                        );
                    }
                }
                check.window(&redis.maintenance_window, "maintenance_window", true);
                check.security_groups(&redis.security_groups);
            }
            BackingSpec::Rabbitmq(mq) => {
                if name.is_empty()
                    || name.len() > 50
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    check.fail(
                        "name",
                        format!("`{name}` is not a valid broker name"),
                        "use at most 50 letters, digits, hyphens and underscores",
                    );
                }
                check.version(&mq.version, "3.13");
                check.class("instance_type", &mq.instance_type, "mq.", "mq.m5.large");
                check.offered(
                    "instance_type",
                    &mq.instance_type,
                    super::offered::rabbitmq_instance_type,
                );
                check.secret("admin_password", &mq.admin_password);
                if mq.admin_user.len() < 2 || mq.admin_user.contains([',', ':', '=']) {
                    check.fail(
                        "admin_user",
                        format!("`{}` is not a valid broker user name", mq.admin_user),
                        "use 2 to 100 characters without `,`, `:` or `=`",
                    );
                }
                if let Some(window) = &mq.maintenance_window
                    && !is_day_time(window)
                {
                    check.fail(
                        "maintenance_window",
                        format!("`{window}` is not a window start"),
                        "write the start day and time in UTC, for example `sun:03:00`",
                    );
                }
                let mode = mq.deployment_mode.unwrap_or(DeploymentMode::SingleInstance);
                let subnets = mq.subnets.as_ref().map(Vec::len).unwrap_or_else(|| {
                    state.network.as_ref().map_or(0, |n| match mode {
                        DeploymentMode::SingleInstance => n.subnets.len().min(1),
                        DeploymentMode::ClusterMultiAz => n.subnets.len(),
                    })
                });
                let wanted = match mode {
                    DeploymentMode::SingleInstance => subnets == 1,
                    DeploymentMode::ClusterMultiAz => subnets >= 2,
                };
                if !wanted {
                    check.fail(
                        "subnets",
                        format!("{subnets} subnets for a {} broker", mode.aws()),
                        "a single-instance broker takes exactly one subnet, a cluster two or more (in different Availability Zones); set `subnets:` here or `network.subnets`",
                    );
                }
                check.security_groups(&mq.security_groups);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn windows_and_versions() {
        assert!(super::is_day_time("sun:03:00"));
        assert!(!super::is_day_time("sunday:03:00"));
        assert!(super::is_time("23:59") && !super::is_time("24:00"));
        assert!(super::is_version("16") && super::is_version("7.1.0"));
        assert!(!super::is_version("16.") && !super::is_version("v16"));
        assert!(super::is_identifier("kaapi-postgres", 63));
        assert!(!super::is_identifier("kaapi--pg", 63) && !super::is_identifier("1db", 63));
    }
}
