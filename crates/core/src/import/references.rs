//! How imported values are written: secret references in their shortest exact form, literal
//! text escaped, and the placeholder that stands where a credential must not be written.

use crate::state::desired::SecretRef;

/// What replaces a credential found in plain `environment`: not a reference, so the file fails
/// validation at this line until someone writes one.
pub const PLACEHOLDER: &str = "TODO: secretsmanager:NAME[:KEY]";
pub(super) const PLACEHOLDER_WHY: &str = "a plain value in the live task definition, not copied here: store it in Secrets Manager or SSM and write its reference";

/// A literal value as the state file writes it: `${` would start a reference.
pub(super) fn literal(value: &str) -> String {
    value.replace("${", "$${")
}

/// The shortest reference that renders back to exactly `value_from`: `secretsmanager:NAME[:KEY]`
/// or `ssm:/NAME` when ECS's ARN is what that form renders, else the ARN as it is.
pub(super) fn reference(value_from: &str, region: &str, account: &str) -> String {
    let mut candidates = Vec::new();
    if let Some(rest) = value_from.strip_prefix(&format!(
        "arn:aws:secretsmanager:{region}:{account}:secret:"
    )) {
        match rest.strip_suffix("::") {
            Some(name_key) => candidates.push(format!("secretsmanager:{name_key}")),
            None => candidates.push(format!("secretsmanager:{rest}")),
        }
    }
    if let Some(name) =
        value_from.strip_prefix(&format!("arn:aws:ssm:{region}:{account}:parameter"))
    {
        candidates.push(format!("ssm:{name}"));
    }
    // A bare parameter name, as ECS takes it for a parameter in the task's region.
    if !value_from.contains(':') {
        candidates.push(format!("ssm:{value_from}"));
    }
    candidates
        .into_iter()
        .find(|short| {
            SecretRef::parse(short).is_some_and(|r| r.value_from(region, account) == value_from)
        })
        .unwrap_or_else(|| value_from.to_string())
}

#[cfg(test)]
mod tests {
    use super::reference;

    #[test]
    fn references_are_shortened_only_when_they_render_back_exactly() {
        let at = |arn: &str| reference(arn, "ap-south-1", "024209611402");
        assert_eq!(
            at(
                "arn:aws:secretsmanager:ap-south-1:024209611402:secret:kaapi/production:SECRET_KEY::"
            ),
            "secretsmanager:kaapi/production:SECRET_KEY"
        );
        assert_eq!(
            at("arn:aws:ssm:ap-south-1:024209611402:parameter/kaapi/production/SENTRY_DSN"),
            "ssm:/kaapi/production/SENTRY_DSN"
        );
        // A bare SSM parameter name stays one.
        assert_eq!(at("db-password"), "ssm:db-password");
        // The console's form, with the random suffix and a version stage: kept whole.
        let full = "arn:aws:secretsmanager:ap-south-1:024209611402:secret:kaapi/production-AbCdEf:KEY:AWSCURRENT:";
        assert_eq!(at(full), full);
        let other_account = "arn:aws:secretsmanager:ap-south-1:111111111111:secret:shared:KEY::";
        assert_eq!(at(other_account), other_account);
    }
}
