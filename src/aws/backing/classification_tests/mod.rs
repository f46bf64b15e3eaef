//! Table-driven tests of the backing-service change classification, on SDK values shaped like
//! real describe responses (DescribeDBInstances, DescribeReplicationGroups with the primary's
//! DescribeCacheClusters, DescribeBroker) converted as observe converts them: pending values,
//! patch releases and autoscaled storage included, which the emulator cannot produce.

mod postgres;
mod rabbitmq;
mod redis;
mod support;

use crate::model::BackingKind;
use crate::plan::{ChangeClass, assess, managed_fields};
use support::{Row, desired, same};

use ChangeClass::{Deferred, ForcesReplacement, InPlace, InPlaceReboot};

/// Every kind's rows.
fn rows() -> Vec<Row> {
    [postgres::rows(), redis::rows(), rabbitmq::rows()]
        .into_iter()
        .flatten()
        .collect()
}

#[test]
fn every_field_of_every_kind_is_classified_as_aws_applies_it() {
    let mut failures = Vec::new();
    for row in rows() {
        let mut desired = desired(row.kind);
        desired.apply_immediately = row.apply_immediately;
        for (field, value) in &row.desired {
            desired.settings.insert(field.to_string(), value.clone());
        }
        let assessment = assess(&desired, &(row.live)());
        let actual: Vec<(String, ChangeClass)> = assessment
            .fields
            .iter()
            .map(|field| (field.path.clone(), field.class.unwrap()))
            .collect();
        let expected: Vec<(String, ChangeClass)> = row
            .expected
            .iter()
            .map(|(field, class)| (field.to_string(), *class))
            .collect();
        if actual != expected {
            failures.push(format!(
                "{:?} {}: {actual:?}, expected {expected:?}",
                row.kind, row.what
            ));
        }
        // Writes are exactly the fields that are neither pending, refused nor replacing.
        let writes: Vec<&String> = assessment.writes.keys().collect();
        let mut wanted: Vec<String> = row
            .expected
            .iter()
            .filter(|(_, class)| matches!(class, InPlace | InPlaceReboot | Deferred))
            .map(|(field, _)| field.to_string())
            .collect();
        wanted.sort();
        if writes != wanted.iter().collect::<Vec<_>>() {
            failures.push(format!("{:?} {}: writes {writes:?}", row.kind, row.what));
        }
        assert_eq!(
            assessment.replace,
            row.expected.iter().any(|(_, c)| *c == ForcesReplacement),
            "{}",
            row.what
        );
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn the_table_covers_every_managed_field() {
    for kind in [
        BackingKind::Postgres,
        BackingKind::Redis,
        BackingKind::Rabbitmq,
    ] {
        let covered: std::collections::BTreeSet<&str> = rows()
            .iter()
            .filter(|row| row.kind == kind)
            .flat_map(|row| row.expected.iter().map(|(field, _)| *field))
            .collect();
        let fields: std::collections::BTreeSet<&str> = managed_fields(kind).into_iter().collect();
        assert_eq!(covered, fields, "{kind:?}");
    }
}

#[test]
fn outputs_come_from_the_endpoints_aws_reports() {
    let pg = postgres::postgres(same);
    assert_eq!(
        pg.outputs["address"],
        "kaapi-postgres.c9akciq32rvx.ap-south-1.rds.amazonaws.com"
    );
    assert_eq!(pg.outputs["port"], "5432");
    assert_eq!(
        pg.outputs["master_password"],
        "arn:aws:secretsmanager:ap-south-1:024209611402:secret:rds!db-1-Xy12Ab:password::"
    );
    let cache = redis::redis(same, same);
    assert_eq!(
        cache.outputs["address"],
        "master.kaapi-redis.x1y2z3.aps1.cache.amazonaws.com"
    );
    let broker = rabbitmq::rabbitmq(same);
    assert_eq!(
        broker.outputs["endpoint"],
        "amqps://b-4a3c5e4b.mq.ap-south-1.amazonaws.com:5671"
    );
    assert_eq!(
        broker.outputs["address"],
        "b-4a3c5e4b.mq.ap-south-1.amazonaws.com"
    );
    assert_eq!(broker.outputs["port"], "5671");
    assert_eq!(broker.id, "b-4a3c5e4b");
}

#[test]
fn each_api_table_reads_and_writes_exactly_the_rules_fields() {
    use super::settings::names;
    use super::{elasticache, mq, rds};
    for (kind, table) in [
        (BackingKind::Postgres, names(rds::FIELDS)),
        (BackingKind::Redis, names(elasticache::FIELDS)),
        (BackingKind::Rabbitmq, names(mq::FIELDS)),
    ] {
        let mut table = table;
        let mut rules = managed_fields(kind);
        table.sort_unstable();
        rules.sort_unstable();
        assert_eq!(
            table, rules,
            "{kind:?}: the API table and the rules table must name the same fields"
        );
    }
}
