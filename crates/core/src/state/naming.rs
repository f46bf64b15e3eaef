//! Default AWS names, following Kaapi's convention: `{prefix}-…` in production, `{prefix}-{environment}-…` elsewhere.

/// Derives every default name of one environment.
#[derive(Debug, Clone)]
pub struct Names {
    base: String,
}

impl Names {
    pub fn new(prefix: &str, environment: &str) -> Self {
        let base = if environment == "production" {
            prefix.to_string()
        } else {
            format!("{prefix}-{environment}")
        };
        Names { base }
    }

    pub fn cluster(&self) -> String {
        format!("{}-cluster", self.base)
    }

    pub fn repository(&self) -> String {
        format!("{}-repo", self.base)
    }

    /// The service named by key `api` is the application's main service (`{base}-service`);
    /// any other key K gets `{base}-K-service`.
    pub fn service(&self, key: &str) -> String {
        match key {
            "api" => format!("{}-service", self.base),
            other => format!("{}-{other}-service", self.base),
        }
    }

    /// Task-definition family: `{base}-task` for `api`, `{base}-K-task` otherwise.
    pub fn family(&self, key: &str) -> String {
        match key {
            "api" => format!("{}-task", self.base),
            other => format!("{}-{other}-task", self.base),
        }
    }

    /// A backing service named by key K: `{base}-K` (`kaapi-postgres`, `kaapi-staging-redis`).
    pub fn backing(&self, key: &str) -> String {
        format!("{}-{key}", self.base)
    }

    /// What every default name of the environment starts with.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Kaapi's log group convention.
    pub fn log_group(cluster: &str, service: &str) -> String {
        format!("/ecs/{cluster}/{service}")
    }
}

#[cfg(test)]
mod tests {
    use super::Names;

    #[test]
    fn follows_kaapi_conventions() {
        let staging = Names::new("kaapi", "staging");
        assert_eq!(staging.cluster(), "kaapi-staging-cluster");
        assert_eq!(staging.repository(), "kaapi-staging-repo");
        assert_eq!(staging.service("api"), "kaapi-staging-service");
        assert_eq!(staging.family("api"), "kaapi-staging-task");
        let production = Names::new("kaapi", "production");
        assert_eq!(production.cluster(), "kaapi-cluster");
        assert_eq!(production.repository(), "kaapi-repo");
        assert_eq!(production.service("api"), "kaapi-service");
        assert_eq!(production.family("api"), "kaapi-task");
        assert_eq!(production.family("celery"), "kaapi-celery-task");
        assert_eq!(production.backing("postgres"), "kaapi-postgres");
        assert_eq!(staging.backing("redis"), "kaapi-staging-redis");
        assert_eq!(
            Names::log_group("kaapi-cluster", "kaapi-service"),
            "/ecs/kaapi-cluster/kaapi-service"
        );
    }
}
