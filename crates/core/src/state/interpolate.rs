//! `${env:NAME}` in state-file strings: account-specific ids (subnets, account, role ARNs) come
//! from the environment of the process, so one file serves every account and the demo.

use serde_json::Value;

use super::validate::Finding;

/// A `${...}` reference inside a string: byte range and the text between the braces.
/// `$${` is an escaped literal and is not a reference.
pub fn references(text: &str) -> Vec<(usize, usize, &str)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut index = 0;
    while index + 1 < bytes.len() {
        if bytes[index] == b'$' && bytes[index + 1] == b'$' {
            index += 2;
            continue;
        }
        if bytes[index] == b'$' && bytes[index + 1] == b'{' {
            match text[index + 2..].find('}') {
                Some(length) => {
                    let end = index + 2 + length + 1;
                    out.push((index, end, &text[index + 2..end - 1]));
                    index = end;
                    continue;
                }
                None => {
                    out.push((index, text.len(), &text[index + 2..]));
                    break;
                }
            }
        }
        index += 1;
    }
    out
}

/// What to do with a variable that is not set.
pub enum Unset<'a> {
    /// A finding: the value is needed (plan, apply).
    Report,
    /// A placeholder stands in, and the field path and variable name are recorded (`validate`
    /// on a laptop or a fork's pull request, where the account's ids are not set).
    Placeholder(&'a mut Vec<(String, String)>),
}

/// The stand-in for an unset `${env:NAME}`: twelve digits, the same for one name and different
/// between names (an account id in an ARN reads as one, and two unset ids never look alike).
pub fn placeholder(name: &str) -> String {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{:012}", hash % 1_000_000_000_000)
}

/// Replaces every `${env:NAME}` in every string of `value`, reporting malformed variables, and
/// unset ones as `unset` says, by field path. Other references are left for validation to judge.
pub fn interpolate(
    value: &mut Value,
    lookup: &dyn Fn(&str) -> Option<String>,
    mut unset: Unset,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    walk(value, String::new(), lookup, &mut unset, &mut findings);
    findings
}

fn walk(
    value: &mut Value,
    path: String,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Unset,
    findings: &mut Vec<Finding>,
) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::String(text) => {
            let mut result = String::new();
            let mut last = 0;
            for (start, end, inner) in references(text) {
                let Some(name) = inner.strip_prefix("env:") else {
                    continue;
                };
                result.push_str(&text[last..start]);
                last = end;
                let valid_name = !name.is_empty()
                    && !name.starts_with(|c: char| c.is_ascii_digit())
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !valid_name || end > text.len() || !text[..end].ends_with('}') {
                    findings.push(Finding {
                        path: path.clone(),
                        message: format!("malformed reference `${{{inner}`"),
                        help: Some(
                            "write `${env:NAME}` with a variable name of letters, digits and `_`"
                                .into(),
                        ),
                    });
                    continue;
                }
                match (lookup(name), &mut *unset) {
                    (Some(replacement), _) => result.push_str(&replacement),
                    (None, Unset::Placeholder(held)) => {
                        result.push_str(&placeholder(name));
                        held.push((path.clone(), name.to_string()));
                    }
                    (None, Unset::Report) => findings.push(Finding {
                        path: path.clone(),
                        message: format!("environment variable `{name}` is not set"),
                        help: Some(format!(
                            "export {name} before running reconcile; this value reads `${{env:{name}}}`"
                        )),
                    }),
                }
            }
            if last > 0 {
                result.push_str(&text[last..]);
                *text = result;
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                walk(item, join(&index.to_string()), lookup, unset, findings);
            }
        }
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                walk(item, join(key), lookup, unset, findings);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replaces_env_references_and_reports_unset_ones() {
        let mut value = json!({
            "account": "${env:ACCOUNT}",
            "roles": {"arn": "arn:aws:iam::${env:ACCOUNT}:role/x"},
            "subnets": ["${env:MISSING}"],
            "env": {"A": "${postgres.address}", "B": "$${env:ACCOUNT}"}
        });
        let lookup = |name: &str| (name == "ACCOUNT").then(|| "123456789012".to_string());
        let findings = interpolate(&mut value, &lookup, Unset::Report);
        assert_eq!(value["account"], "123456789012");
        assert_eq!(value["roles"]["arn"], "arn:aws:iam::123456789012:role/x");
        assert_eq!(value["env"]["A"], "${postgres.address}");
        assert_eq!(value["env"]["B"], "$${env:ACCOUNT}");
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].path, "subnets.0");
        assert_eq!(
            findings[0].message,
            "environment variable `MISSING` is not set"
        );
    }

    #[test]
    fn unset_variables_can_stand_in_as_placeholders_recorded_by_path() {
        let mut value = json!({
            "account": "${env:ACCOUNT}",
            "roles": {"arn": "arn:aws:iam::${env:ACCOUNT}:role/x"},
            "subnets": ["${env:SUBNET_A}", "${env:SUBNET_B}", "${env:SET}"],
        });
        let lookup = |name: &str| (name == "SET").then(|| "subnet-0abc".to_string());
        let mut held = Vec::new();
        let findings = interpolate(&mut value, &lookup, Unset::Placeholder(&mut held));
        assert!(findings.is_empty());
        let account = value["account"].as_str().unwrap().to_string();
        assert_eq!(account.len(), 12);
        assert!(account.chars().all(|c| c.is_ascii_digit()));
        assert_eq!(
            value["roles"]["arn"],
            format!("arn:aws:iam::{account}:role/x")
        );
        assert_ne!(value["subnets"][0], value["subnets"][1]);
        assert_eq!(value["subnets"][2], "subnet-0abc");
        let paths: Vec<&str> = held.iter().map(|(path, _)| path.as_str()).collect();
        assert_eq!(paths, ["account", "roles.arn", "subnets.0", "subnets.1"]);
    }

    #[test]
    fn finds_references_but_not_escapes() {
        assert_eq!(
            references("a ${x} $${y} ${z"),
            vec![(2, 6, "x"), (13, 16, "z")]
        );
    }
}
