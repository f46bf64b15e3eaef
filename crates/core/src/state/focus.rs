//! `--service NAME` on plan and apply: the state narrowed to one service and what it needs (its
//! migrations, the backing services its variables refer to, the cluster, image and log groups
//! any plan covers), with what was left out recorded so the plan names it instead of calling it
//! undeclared or no longer managed.

use super::desired::{DesiredState, LeftOut};

/// The state with `name` (a key under `services:` or an ECS service name) as its only service.
pub fn only_service(state: &DesiredState, name: &str) -> Result<DesiredState, String> {
    let Some(service) = state
        .services
        .iter()
        .find(|s| s.key == name || s.name == name)
    else {
        return Err(format!(
            "{} has no service {name}; its services: {}",
            state.file.display(),
            state
                .services
                .iter()
                .map(|s| format!("{} ({})", s.key, s.name))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    };
    // What the service's settings refer to, `${KEY.OUTPUT}`, wherever it appears.
    let text = serde_json::to_string(service).unwrap_or_default();
    let needed = |key: &str| text.contains(&format!("${{{key}."));
    let mut focused = state.clone();
    focused.services = vec![service.clone()];
    focused
        .migrations
        .retain(|migration| migration.service == service.key);
    focused.backing.retain(|backing| needed(&backing.key));
    focused.left_out = LeftOut {
        services: state
            .services
            .iter()
            .filter(|s| s.key != service.key)
            .map(|s| s.name.clone())
            .collect(),
        backing: state
            .backing
            .iter()
            .filter(|b| !needed(&b.key))
            .map(|b| b.name.clone())
            .collect(),
    };
    Ok(focused)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn production() -> DesiredState {
        let lookup = |name: &str| match name {
            "KAAPI_AWS_ACCOUNT_ID" => Some("024209611402".to_string()),
            "KAAPI_SECURITY_GROUP" => Some("sg-0abc".to_string()),
            _ => Some("subnet-0abc".to_string()),
        };
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../state/production.yaml");
        crate::state::load_file(&path, &lookup).unwrap()
    }

    #[test]
    fn one_service_keeps_its_migrations_and_the_backing_services_it_refers_to() {
        let state = production();
        let api = only_service(&state, "api").unwrap();
        assert_eq!(api.services.len(), 1);
        assert_eq!(api.services[0].name, "kaapi-service");
        assert_eq!(api.migrations.len(), 1, "the API's migration");
        // The example's variables name postgres, redis and rabbitmq: all three are needed.
        assert_eq!(api.backing.len(), state.backing.len());
        assert_eq!(api.left_out.services, ["kaapi-celery-task"]);

        let celery = only_service(&state, "kaapi-celery-task").unwrap();
        assert!(celery.migrations.is_empty());
        assert_eq!(celery.left_out.services, ["kaapi-service"]);

        let error = only_service(&state, "web").unwrap_err();
        assert!(
            error.ends_with("its services: api (kaapi-service), celery (kaapi-celery-task)"),
            "{error}"
        );
    }
}
