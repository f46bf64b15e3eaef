//! Images from registries other than the environment's ECR: a sidecar's image asked of its own
//! registry through the OCI distribution API with an anonymous pull token (a fake registry on
//! loopback that answers as Docker Hub, GHCR and ECR Public do), one whose registry cannot be
//! reached (kept as written, said in the plan), one the registry does not hold (refused).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use reconcile::aws::Aws;
use reconcile::plan::{Action, ResourceKind};

use crate::support::{Emulator, StateDir, apply, plan_of};

const TOKEN: &str = "anonymous-pull-token";
const MANIFEST_TYPE: &str = "application/vnd.oci.image.index.v1+json";

/// What the fake registry holds and what it was asked.
#[derive(Clone, Default)]
struct Registry {
    /// (repository, tag, digest)
    images: Vec<(String, String, String)>,
    /// `METHOD PATH [bearer]` of every request, in order.
    asked: Arc<Mutex<Vec<String>>>,
    /// `http://HOST:PORT`, known once bound.
    base: Arc<Mutex<String>>,
}

impl Registry {
    fn challenge(&self, repository: &str) -> Response {
        // As registry-1.docker.io answers an anonymous request: 401 naming the token service.
        let base = self.base.lock().unwrap().clone();
        let mut response = (
            StatusCode::UNAUTHORIZED,
            r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
        )
            .into_response();
        let scope = if repository.is_empty() {
            String::new()
        } else {
            format!(",scope=\"repository:{repository}:pull\"")
        };
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_str(&format!(
                "Bearer realm=\"{base}/token\",service=\"fake-registry\"{scope}"
            ))
            .unwrap(),
        );
        response
    }

    fn record(&self, method: &Method, path: &str, headers: &HeaderMap) -> bool {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            == Some(&format!("Bearer {TOKEN}"));
        self.asked.lock().unwrap().push(format!(
            "{method} {path}{}",
            if bearer { " bearer" } else { "" }
        ));
        bearer
    }
}

async fn version(State(registry): State<Registry>, method: Method, headers: HeaderMap) -> Response {
    if registry.record(&method, "/v2/", &headers) {
        StatusCode::OK.into_response()
    } else {
        registry.challenge("")
    }
}

async fn token(
    State(registry): State<Registry>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let scope = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("scope="))
        .map(|scope| scope.replace("%3A", ":").replace("%2F", "/"))
        .unwrap_or_default();
    registry.record(&method, &format!("/token?scope={scope}"), &headers);
    axum::Json(serde_json::json!({ "token": TOKEN, "expires_in": 300 })).into_response()
}

async fn manifest(
    State(registry): State<Registry>,
    method: Method,
    headers: HeaderMap,
    UrlPath(rest): UrlPath<String>,
) -> Response {
    let path = format!("/v2/{rest}");
    let authorized = registry.record(&method, &path, &headers);
    let Some((repository, reference)) = rest.split_once("/manifests/") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !authorized {
        return registry.challenge(repository);
    }
    let found = registry.images.iter().find(|(repo, tag, digest)| {
        repo == repository && (tag == reference || digest == reference)
    });
    match found {
        Some((_, _, digest)) => {
            let body = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
            let mut response = if method == Method::HEAD {
                StatusCode::OK.into_response()
            } else {
                body.into_response()
            };
            let headers = response.headers_mut();
            headers.insert(
                "Docker-Content-Digest",
                HeaderValue::from_str(digest).unwrap(),
            );
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(MANIFEST_TYPE),
            );
            response
        }
        None => {
            let body = r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#;
            if method == Method::HEAD {
                StatusCode::NOT_FOUND.into_response()
            } else {
                (StatusCode::NOT_FOUND, body).into_response()
            }
        }
    }
}

/// Serves `registry` on a loopback port until the test ends; returns `HOST:PORT`.
async fn serve(registry: Registry) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address: SocketAddr = listener.local_addr().unwrap();
    *registry.base.lock().unwrap() = format!("http://{address}");
    let app = Router::new()
        .route("/v2/", get(version))
        .route("/token", get(token))
        .route("/v2/{*rest}", get(manifest))
        .with_state(registry);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address.to_string()
}

/// A loopback port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread")]
async fn sidecar_images_are_asked_of_their_own_registry_and_kept_as_written() {
    let digest = format!("sha256:{}", "c0".repeat(32));
    let registry = Registry {
        images: vec![(
            "otel/opentelemetry-collector-contrib".into(),
            "latest".into(),
            digest.clone(),
        )],
        ..Registry::default()
    };
    let asked = registry.asked.clone();
    let host = serve(registry).await;
    let collector = format!("{host}/otel/opentelemetry-collector-contrib:latest");
    let unreachable = format!("127.0.0.1:{}/vendor/agent:7.52.0", closed_port());

    let (emulator, seed) = Emulator::seeded();
    let aws = Aws::from_config(&emulator.sdk_config());
    let state = StateDir::examples();
    state.edit(
        "staging",
        "      celery-worker:\n",
        &format!(
            "      collector:\n        image: {collector}\n        essential: false\n        inherit_variables: false\n      agent:\n        image: {unreachable}\n        essential: false\n        inherit_variables: false\n      celery-worker:\n"
        ),
    );
    let desired = state.load("staging", &seed);
    let plan = plan_of(&aws, &desired).await;

    // The anonymous token flow, as a registry asks for it: challenged, token, then the manifest.
    let asked = asked.lock().unwrap().clone();
    let manifest = "/v2/otel/opentelemetry-collector-contrib/manifests/latest bearer";
    assert!(
        asked.iter().any(|a| a
            .starts_with("GET /token?scope=repository:otel/opentelemetry-collector-contrib:pull")),
        "{asked:?}"
    );
    assert!(asked.iter().any(|a| a.ends_with(manifest)), "{asked:?}");
    let moved = plan
        .warnings
        .iter()
        .find(|w| w.starts_with(&collector))
        .unwrap_or_else(|| panic!("{:?}", plan.warnings));
    assert!(moved.contains(&format!("names {digest} today")), "{moved}");
    assert!(
        moved.contains("services.api.containers.collector"),
        "{moved}"
    );
    let kept = plan
        .warnings
        .iter()
        .find(|w| w.starts_with(&unreachable))
        .unwrap_or_else(|| panic!("{:?}", plan.warnings));
    assert!(kept.contains("is kept as written, unchecked"), "{kept}");
    assert!(kept.contains("could not be reached"), "{kept}");
    let text = reconcile::render::text(&plan);
    assert!(text.contains("kept as written"), "{text}");

    // Registered as written: the sidecars' tags are not replaced by digests.
    assert!(apply(&aws, &plan).await.succeeded());
    let registered = aws
        .ecs
        .describe_task_definition()
        .task_definition("kaapi-staging-task")
        .send()
        .await
        .unwrap();
    let images: Vec<&str> = registered
        .task_definition()
        .unwrap()
        .container_definitions()
        .iter()
        .filter_map(|c| c.image())
        .collect();
    assert!(images.contains(&collector.as_str()), "{images:?}");
    assert!(images.contains(&unreachable.as_str()), "{images:?}");
    let again = plan_of(&aws, &desired).await;
    assert!(
        again
            .changes
            .iter()
            .all(|c| c.resource.kind != ResourceKind::TaskDefinition || c.action == Action::NoOp),
        "{}",
        reconcile::render::text(&again)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_image_its_registry_does_not_hold_stops_the_plan() {
    let host = serve(Registry::default()).await;
    let missing = format!("{host}/fluent/fluent-bit:9.9.9");
    let (emulator, seed) = Emulator::seeded();
    let aws = Aws::from_config(&emulator.sdk_config());
    let state = StateDir::examples();
    state.edit(
        "staging",
        "      celery-worker:\n",
        &format!(
            "      log-router:\n        image: {missing}\n        essential: false\n        inherit_variables: false\n      celery-worker:\n"
        ),
    );
    let desired = state.load("staging", &seed);
    let error = reconcile::engine::plan_environment(&aws, &desired)
        .await
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(error.contains(&missing), "{error}");
    assert!(
        error.contains("MANIFEST_UNKNOWN") || error.contains("no such manifest"),
        "{error}"
    );
    assert!(
        error.contains("services.api.containers.log-router"),
        "{error}"
    );
}
