//! Checks shared by the environment and each service: network ids and IAM role ARNs.

use super::finding::{Finding, finding};
use super::rules::is_role_arn;
use crate::state::schema::{NetworkSpec, RolesSpec};

pub(super) fn check_network(network: &NetworkSpec, path: &str, out: &mut Vec<Finding>) {
    if network.subnets.is_empty() {
        out.push(finding(
            format!("{path}.subnets"),
            "no subnets",
            "list at least one subnet id (`subnet-...`)",
        ));
    }
    for (index, subnet) in network.subnets.iter().enumerate() {
        if !subnet.starts_with("subnet-") {
            out.push(finding(
                format!("{path}.subnets.{index}"),
                format!("`{subnet}` is not a subnet id"),
                "subnet ids look like `subnet-0abc1234`",
            ));
        }
    }
    for (index, group) in network.security_groups.iter().enumerate() {
        if !group.starts_with("sg-") {
            out.push(finding(
                format!("{path}.security_groups.{index}"),
                format!("`{group}` is not a security group id"),
                "security group ids look like `sg-0abc1234`",
            ));
        }
    }
    if network.security_groups.len() > 5 {
        out.push(finding(
            format!("{path}.security_groups"),
            "more than 5 security groups",
            "ECS accepts at most 5 security groups per service",
        ));
    }
}

pub(super) fn check_roles(roles: Option<&RolesSpec>, path: &str, out: &mut Vec<Finding>) {
    let Some(roles) = roles else { return };
    for (field, arn) in [
        ("execution_role_arn", &roles.execution_role_arn),
        ("task_role_arn", &roles.task_role_arn),
    ] {
        if let Some(arn) = arn
            && !is_role_arn(arn)
        {
            out.push(finding(
                format!("{path}.{field}"),
                format!("`{arn}` is not an IAM role ARN"),
                "write `arn:aws:iam::ACCOUNT_ID:role/NAME`",
            ));
        }
    }
}
