//! Amazon Resource Names split into their parts: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.

/// The parts of an ARN. The resource keeps any further colons (`secret:NAME:KEY::`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// `None` unless `text` has the six parts of an ARN in an AWS partition (`aws`, `aws-cn`, ...).
    pub fn parse(text: &'a str) -> Option<Arn<'a>> {
        let mut parts = text.splitn(6, ':');
        let (
            Some("arn"),
            Some(partition),
            Some(service),
            Some(region),
            Some(account),
            Some(resource),
        ) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        )
        else {
            return None;
        };
        partition.starts_with("aws").then_some(Arn {
            partition,
            service,
            region,
            account,
            resource,
        })
    }

    /// Whether the account part is a 12-digit account id.
    pub fn has_account_id(&self) -> bool {
        self.account.len() == 12 && self.account.chars().all(|c| c.is_ascii_digit())
    }
}
