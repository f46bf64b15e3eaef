//! Amazon MQ RabbitMQ rows: a DescribeBroker answer and every field's classification.

use aws_sdk_mq::operation::describe_broker::DescribeBrokerOutput;
use aws_sdk_mq::types as mqt;

use super::super::mq;
use super::support::{Row, row, same};
use crate::model::BackingKind::Rabbitmq;
use crate::model::LiveBacking;
use crate::plan::ChangeClass::{Deferred, ForcesReplacement, InPlace, NotAllowed, Pending};

const SG: &str = super::support::SG;

type BrokerEdit =
    fn(
        aws_sdk_mq::operation::describe_broker::builders::DescribeBrokerOutputBuilder,
    ) -> aws_sdk_mq::operation::describe_broker::builders::DescribeBrokerOutputBuilder;

/// DescribeBroker's answer for the fixture state's broker (RabbitMQ lists no users).
pub(super) fn rabbitmq(edit: BrokerEdit) -> LiveBacking {
    let broker = DescribeBrokerOutput::builder()
        .broker_id("b-4a3c5e4b")
        .broker_name("kaapi-rabbitmq")
        .broker_state(mqt::BrokerState::Running)
        .engine_type(mqt::EngineType::from("RabbitMQ"))
        .engine_version("3.13")
        .host_instance_type("mq.m5.xlarge")
        .deployment_mode(mqt::DeploymentMode::SingleInstance)
        .auto_minor_version_upgrade(true)
        .maintenance_window_start_time(
            mqt::WeeklyStartTime::builder()
                .day_of_week(mqt::DayOfWeek::Sunday)
                .time_of_day("21:00")
                .time_zone("UTC")
                .build(),
        )
        .publicly_accessible(false)
        .subnet_ids("subnet-0a1b2c3d4e5f60001")
        .security_groups(SG)
        .broker_instances(
            mqt::BrokerInstance::builder()
                .endpoints("amqps://b-4a3c5e4b.mq.ap-south-1.amazonaws.com:5671")
                .build(),
        );
    mq::from_sdk(&edit(broker).build())
}

/// The rows of this kind.
pub(super) fn rows() -> Vec<Row> {
    vec![
        row(
            Rabbitmq,
            "fixture as is (no users listed)",
            || rabbitmq(same),
            &[],
        ),
        row(
            Rabbitmq,
            "engine changed",
            || rabbitmq(|b| b.engine_type(mqt::EngineType::Activemq)),
            &[("engine", NotAllowed)],
        ),
        row(
            Rabbitmq,
            "minor upgrade",
            || rabbitmq(|b| b.engine_version("3.12")),
            &[("version", Deferred)],
        ),
        row(
            Rabbitmq,
            "downgrade refused",
            || rabbitmq(|b| b.engine_version("4.0")),
            &[("version", NotAllowed)],
        ),
        row(
            Rabbitmq,
            "version pending",
            || rabbitmq(|b| b.engine_version("3.12").pending_engine_version("3.13")),
            &[("version", Pending)],
        ),
        row(
            Rabbitmq,
            "instance type",
            || rabbitmq(|b| b.host_instance_type("mq.m5.large")),
            &[("instance_type", Deferred)],
        ),
        row(
            Rabbitmq,
            "instance type pending",
            || {
                rabbitmq(|b| {
                    b.host_instance_type("mq.m5.large")
                        .pending_host_instance_type("mq.m5.xlarge")
                })
            },
            &[("instance_type", Pending)],
        ),
        row(
            Rabbitmq,
            "deployment mode",
            || rabbitmq(|b| b.deployment_mode(mqt::DeploymentMode::ClusterMultiAz)),
            &[("deployment_mode", ForcesReplacement)],
        ),
        row(
            Rabbitmq,
            "another admin user listed",
            || rabbitmq(|b| b.users(mqt::UserSummary::builder().username("admin").build())),
            &[("admin_user", ForcesReplacement)],
        ),
        row(
            Rabbitmq,
            "minor upgrades off",
            || rabbitmq(|b| b.auto_minor_version_upgrade(false)),
            &[("auto_minor_version_upgrade", InPlace)],
        ),
        row(
            Rabbitmq,
            "maintenance window",
            || {
                rabbitmq(|b| {
                    b.maintenance_window_start_time(
                        mqt::WeeklyStartTime::builder()
                            .day_of_week(mqt::DayOfWeek::Monday)
                            .time_of_day("21:00")
                            .time_zone("UTC")
                            .build(),
                    )
                })
            },
            &[("maintenance_window", InPlace)],
        ),
        row(
            Rabbitmq,
            "public",
            || rabbitmq(|b| b.publicly_accessible(true)),
            &[("publicly_accessible", ForcesReplacement)],
        ),
        row(
            Rabbitmq,
            "subnets",
            || rabbitmq(|b| b.set_subnet_ids(Some(vec!["subnet-0a1b2c3d4e5f60002".into()]))),
            &[("subnets", ForcesReplacement)],
        ),
        row(
            Rabbitmq,
            "security groups",
            || rabbitmq(|b| b.set_security_groups(Some(vec!["sg-0123".into()]))),
            &[("security_groups", InPlace)],
        ),
        row(
            Rabbitmq,
            "security groups pending",
            || {
                rabbitmq(|b| {
                    b.set_security_groups(Some(vec!["sg-0123".into()]))
                        .pending_security_groups(SG)
                })
            },
            &[("security_groups", Pending)],
        ),
    ]
}
