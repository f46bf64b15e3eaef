//! The operator's HTTP endpoints: `GET /healthz`, `GET /metrics` (Prometheus text), `GET /status`
//! (JSON per environment) and `POST /retry/{environment}` (try a failed commit once more).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};

use super::report::Shared;

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .route("/retry/{environment}", post(retry))
        .with_state(shared)
}

async fn metrics(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        shared.encode_metrics(),
    )
}

async fn status(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    axum::Json(shared.statuses())
}

async fn retry(
    State(shared): State<Arc<Shared>>,
    Path(environment): Path<String>,
) -> impl IntoResponse {
    let known = shared
        .status
        .lock()
        .map(|s| s.contains_key(&environment))
        .unwrap_or(false);
    if !known {
        return (
            StatusCode::NOT_FOUND,
            format!("no environment {environment}\n"),
        );
    }
    if let Ok(mut retry) = shared.retry.lock() {
        retry.insert(environment.clone());
    }
    (
        StatusCode::ACCEPTED,
        format!("{environment}: its last failed commit is tried again in the next cycle\n"),
    )
}
