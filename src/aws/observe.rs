//! Reads the live state of one environment, concurrently and with as few calls as possible:
//! caller identity, the image, the cluster, all services, the backing services and the images
//! containers name for themselves (each asked of its own registry, `registry.rs`) at once; then
//! the task definitions the services run, the log groups the containers write to (one lookup per
//! directory of groups) and the backing services' details; then, only for families whose content
//! changed, their recent ACTIVE revisions, ECR's tags of the digest they run (when it is not the
//! state's image), and only for secrets no running task uses yet, whether they exist (metadata,
//! never values). The one module besides `apply` that calls across APIs.

use std::collections::{BTreeMap, BTreeSet};

use super::ecs::read::{candidates, cluster, describe_revisions, services, undeclared_services};
use super::{Aws, AwsError, backing, ecr, logs, registry, secrets, sts};
use crate::model::LiveEnvironment;
use crate::plan::{
    families_needing_candidates, images_to_check, log_groups_to_check, running_digests_to_name,
    secrets_to_check,
};
use crate::state::DesiredState;

/// Everything the planner needs to know about the environment's live state.
pub async fn observe(aws: &Aws, state: &DesiredState) -> Result<LiveEnvironment, AwsError> {
    // ECS in two waves (everything by name, then the running task definitions), and beside it
    // the backing services in two waves (one list per API, then the named ones' details).
    let wrong_account = |account: &str| {
        state
            .account
            .as_ref()
            .is_some_and(|expected| expected != account)
    };
    let ecs = async {
        let declared: BTreeSet<String> = state.services.iter().map(|s| s.name.clone()).collect();
        let (account, image, cluster, services, undeclared) = tokio::join!(
            sts::account(aws),
            ecr::image(aws, state),
            cluster(aws, &state.cluster),
            services(aws, state),
            undeclared_services(aws, &state.cluster, &declared),
        );
        let account = account?;
        // Another account's credentials: that is the answer, whatever else failed to read (a
        // repository of the right account is not there); the planner says it.
        if wrong_account(&account) {
            return Ok((account, None));
        }
        let (image, cluster, services, undeclared) = (image?, cluster?, services?, undeclared?);
        let running: BTreeSet<String> = services
            .values()
            .map(|service| service.task_definition_arn.clone())
            .filter(|arn| !arn.is_empty())
            .collect();
        // Every log group a container writes to is looked up, whoever uses it: beside the task
        // definitions, as it needs nothing they hold.
        let (task_definitions, log_groups) = tokio::join!(
            describe_revisions(aws, running.into_iter()),
            logs::check_log_groups(aws, log_groups_to_check(state)),
        );
        let found = (
            image,
            cluster,
            (services, undeclared),
            task_definitions?,
            log_groups?,
        );
        Ok::<_, AwsError>((account, Some(found)))
    };
    let (ecs, backing, named_images) = tokio::join!(
        ecs,
        backing::observe(aws, state),
        registry::lookup(aws, state.account.as_deref(), images_to_check(state)),
    );
    let (account, found) = ecs?;
    let Some((image, cluster, (services, undeclared_services), task_definitions, log_groups)) =
        found
    else {
        return Ok(LiveEnvironment {
            account,
            ..LiveEnvironment::default()
        });
    };
    let (backing, unmanaged_backing) = backing?;
    let mut live = LiveEnvironment {
        account,
        image,
        cluster,
        services,
        task_definitions,
        candidates: BTreeMap::new(),
        secrets: BTreeMap::new(),
        log_groups,
        backing,
        unmanaged_backing,
        undeclared_services,
        running_image_tags: BTreeMap::new(),
        named_images,
    };
    // When the preconditions fail (no image, wrong account) the planner reports it; nothing more to read.
    if let Ok(families) = families_needing_candidates(state, &live) {
        let known = &live.task_definitions;
        let revisions = futures::future::try_join_all(families.into_iter().map(|family| async {
            let revisions = candidates(aws, &family, known).await?;
            Ok::<_, AwsError>((family, revisions))
        }));
        // What the services run now, by its tags (only when it is not the state's image).
        let running =
            futures::future::try_join_all(running_digests_to_name(state, &live).into_iter().map(
                |digest| async {
                    let found = ecr::image_by(aws, state, None, Some(digest.clone())).await?;
                    Ok::<_, AwsError>(found.map(|image| (digest, image.tags)))
                },
            ));
        let (revisions, secrets, running) = tokio::join!(
            revisions,
            secrets::check_secrets(aws, secrets_to_check(state, &live)),
            running,
        );
        live.candidates.extend(revisions?);
        live.secrets = secrets;
        live.running_image_tags = running?.into_iter().flatten().collect();
    }
    Ok(live)
}
