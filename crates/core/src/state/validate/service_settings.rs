//! The service settings beyond count, network and deployment percentages: tag propagation,
//! capacity provider strategy, Availability Zone rebalancing and deployment alarms, against the
//! values and limits ECS accepts.

use std::collections::BTreeSet;

use super::finding::{Finding, finding};
use crate::state::schema::ServiceSpec;

pub(super) fn check_service_settings(service: &ServiceSpec, path: &str, out: &mut Vec<Finding>) {
    if let Some(from) = &service.propagate_tags
        && !["SERVICE", "TASK_DEFINITION", "NONE"].contains(&from.as_str())
    {
        out.push(finding(
            format!("{path}.propagate_tags"),
            format!("`{from}` is not where ECS propagates tags from"),
            "use SERVICE, TASK_DEFINITION or NONE",
        ));
    }
    if let Some(mode) = &service.availability_zone_rebalancing
        && !["ENABLED", "DISABLED"].contains(&mode.as_str())
    {
        out.push(finding(
            format!("{path}.availability_zone_rebalancing"),
            format!("`{mode}` is not a rebalancing mode"),
            "use ENABLED or DISABLED",
        ));
    }
    if let Some(strategy) = &service.capacity_provider_strategy {
        check_strategy(strategy, &format!("{path}.capacity_provider_strategy"), out);
    }
    if let Some(alarms) = service.deployment.as_ref().and_then(|d| d.alarms.as_ref()) {
        let at = format!("{path}.deployment.alarms");
        if alarms.names.is_empty() {
            out.push(finding(
                format!("{at}.names"),
                "no alarm names",
                "name the CloudWatch alarms to watch, or remove `alarms`",
            ));
        }
        for (index, name) in alarms.names.iter().enumerate() {
            if name.trim().is_empty() || name.len() > 255 {
                out.push(finding(
                    format!("{at}.names.{index}"),
                    "not a CloudWatch alarm name",
                    "use the alarm's name as CloudWatch shows it (1 to 255 characters)",
                ));
            }
        }
    }
}

fn check_strategy(strategy: &[crate::model::CapacityProvider], path: &str, out: &mut Vec<Finding>) {
    if strategy.is_empty() {
        out.push(finding(
            path,
            "an empty strategy",
            "name at least one capacity provider, or remove it to use the FARGATE launch type",
        ));
        return;
    }
    let mut seen = BTreeSet::new();
    let fargate = |item: &crate::model::CapacityProvider| {
        matches!(item.capacity_provider.as_str(), "FARGATE" | "FARGATE_SPOT")
    };
    // "A capacity provider strategy may contain a maximum of 6 capacity providers ... Fargate
    // capacity providers and Auto Scaling group capacity providers cannot be mixed"
    // (CapacityProviderStrategyItem, ECS API reference).
    let mixed = strategy.iter().any(fargate) && !strategy.iter().all(fargate);
    for (index, item) in strategy.iter().enumerate() {
        let at = format!("{path}.{index}");
        if mixed && !fargate(item) {
            out.push(finding(
                format!("{at}.capacity_provider"),
                format!(
                    "`{}` is an Auto Scaling group provider in a strategy with Fargate ones",
                    item.capacity_provider
                ),
                "AWS refuses a strategy that mixes them: keep FARGATE/FARGATE_SPOT or the Auto Scaling group providers",
            ));
        } else if item.capacity_provider.is_empty() {
            out.push(finding(
                format!("{at}.capacity_provider"),
                "an empty capacity provider name",
                "name a capacity provider of the cluster",
            ));
        } else if !seen.insert(&item.capacity_provider) {
            out.push(finding(
                format!("{at}.capacity_provider"),
                format!("{} is listed twice", item.capacity_provider),
                "list each capacity provider once",
            ));
        }
        if !(0..=1000).contains(&item.weight) {
            out.push(finding(
                format!("{at}.weight"),
                format!("{} is outside 0 to 1000", item.weight),
                "ECS accepts weights from 0 to 1000",
            ));
        }
        if !(0..=100_000).contains(&item.base) {
            out.push(finding(
                format!("{at}.base"),
                format!("{} is outside 0 to 100000", item.base),
                "ECS accepts a base from 0 to 100000",
            ));
        }
    }
    if strategy.iter().filter(|item| item.base > 0).count() > 1 {
        out.push(finding(
            path,
            "more than one capacity provider has a base",
            "give a base to one provider only",
        ));
    }
    if strategy.iter().all(|item| item.weight == 0) {
        out.push(finding(
            path,
            "every weight is 0, so no task beyond the base can be placed",
            "give at least one provider a weight above 0",
        ));
    }
}
