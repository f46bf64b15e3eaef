//! The node types and broker instance types AWS offers, so that a typo (`cache.t4g.smal`) or a
//! type that does not exist (`mq.t4g.micro`) stops at validate instead of failing in AWS.
//!
//! Sources (kept here with the rules, to extend when AWS adds types):
//! - ElastiCache: "Supported node types", Amazon ElastiCache User Guide (Redis OSS / Valkey
//!   node types by generation: T2, T3, T4g, M4, M5, M6g, M7g, R4, R5, R6g, R6gd, R7g, C7gn).
//! - Amazon MQ: "Amazon MQ for RabbitMQ instance types", Amazon MQ Developer Guide (mq.t3.micro,
//!   mq.m5.*, mq.m7g.*).
//!
//! A type is `PREFIX.FAMILY.SIZE`; the tables list each family with the sizes it comes in.

const ELASTICACHE: &[(&str, &[&str])] = &[
    ("t2", &["micro", "small", "medium"]),
    ("t3", &["micro", "small", "medium"]),
    ("t4g", &["micro", "small", "medium"]),
    ("m4", &["large", "xlarge", "2xlarge", "4xlarge", "10xlarge"]),
    (
        "m5",
        &[
            "large", "xlarge", "2xlarge", "4xlarge", "12xlarge", "24xlarge",
        ],
    ),
    (
        "m6g",
        &[
            "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge",
        ],
    ),
    (
        "m7g",
        &[
            "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge",
        ],
    ),
    (
        "r4",
        &[
            "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge",
        ],
    ),
    (
        "r5",
        &[
            "large", "xlarge", "2xlarge", "4xlarge", "12xlarge", "24xlarge",
        ],
    ),
    (
        "r6g",
        &[
            "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge",
        ],
    ),
    (
        "r6gd",
        &[
            "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge",
        ],
    ),
    (
        "r7g",
        &[
            "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge",
        ],
    ),
    (
        "c7gn",
        &[
            "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge",
        ],
    ),
];

const RABBITMQ: &[(&str, &[&str])] = &[
    ("t3", &["micro"]),
    ("m5", &["large", "xlarge", "2xlarge", "4xlarge"]),
    (
        "m7g",
        &[
            "medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge",
        ],
    ),
];

/// `Ok` when AWS offers the type; otherwise the families (or sizes) it does offer, for the help.
fn offered(value: &str, prefix: &str, table: &[(&str, &[&str])]) -> Result<(), String> {
    let families = || {
        table
            .iter()
            .map(|(family, _)| format!("{prefix}.{family}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some((family, size)) = value
        .strip_prefix(&format!("{prefix}."))
        .and_then(|rest| rest.split_once('.'))
    else {
        return Err(format!(
            "types look like `{prefix}.FAMILY.SIZE`: {}",
            families()
        ));
    };
    match table.iter().find(|(known, _)| *known == family) {
        None => Err(format!("families offered: {}", families())),
        Some((_, sizes)) if sizes.contains(&size) => Ok(()),
        Some((_, sizes)) => Err(format!("{prefix}.{family} comes in {}", sizes.join(", "))),
    }
}

/// Whether ElastiCache offers the node type.
pub(super) fn cache_node_type(value: &str) -> Result<(), String> {
    offered(value, "cache", ELASTICACHE)
}

/// Whether Amazon MQ offers the broker instance type for RabbitMQ.
pub(super) fn rabbitmq_instance_type(value: &str) -> Result<(), String> {
    offered(value, "mq", RABBITMQ)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offered_types_pass_and_others_say_what_exists() {
        assert_eq!(cache_node_type("cache.t4g.small"), Ok(()));
        assert_eq!(rabbitmq_instance_type("mq.m5.large"), Ok(()));
        assert_eq!(
            cache_node_type("cache.t4g.smal"),
            Err("cache.t4g comes in micro, small, medium".into())
        );
        assert!(
            rabbitmq_instance_type("mq.t4g.micro")
                .unwrap_err()
                .starts_with("families offered: mq.t3, mq.m5, mq.m7g")
        );
        assert!(cache_node_type("t4g.small").is_err());
    }
}
