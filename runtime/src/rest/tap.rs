//! `GET /connectors/{c}/tap`: the live tap as Server-Sent Events. Each `record` event
//! is one sampled record at one stage (see [`crate::tap`]); events of one record share
//! `task` and `sample`. Query: `stage` (comma-separated: source, transform, output),
//! `task` (a task number), `rate` (sampled records per second and task, 1–1000,
//! default 10). In a cluster a worker shows the tasks it runs.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::error::ApiError;
use super::{RestState, RouteWithSlash};
use crate::tap::{TapStage, TapSubscription};

pub(super) fn routes() -> Router<Arc<RestState>> {
    Router::new().route_both("/connectors/{name}/tap", get(tap))
}

#[derive(Deserialize)]
struct TapQuery {
    stage: Option<String>,
    task: Option<String>,
    rate: Option<String>,
}

/// What one listener asked for.
struct Filter {
    stages: Option<Vec<TapStage>>,
    task: Option<u32>,
    every: Duration,
}

fn filter(q: &TapQuery) -> Result<(Filter, u32), ApiError> {
    let stages = match q.stage.as_deref().filter(|s| !s.trim().is_empty()) {
        None => None,
        Some(s) => Some(
            s.split(',')
                .map(|p| {
                    TapStage::parse(p).ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "stage {:?} is not one of source, transform, output",
                            p.trim()
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let task =
        match q.task.as_deref() {
            None => None,
            Some(t) => Some(t.trim().parse::<u32>().map_err(|_| {
                ApiError::bad_request(format!("task {:?} is not a task number", t))
            })?),
        };
    let rate = match q.rate.as_deref() {
        None => 10,
        Some(r) => match r.trim().parse::<u32>() {
            Ok(n) if (1..=1000).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "rate {:?} is not a number of records per second from 1 to 1000",
                    r
                )))
            }
        },
    };
    let every = Duration::from_secs(1) / rate;
    Ok((
        Filter {
            stages,
            task,
            every,
        },
        rate,
    ))
}

async fn tap(
    State(st): State<Arc<RestState>>,
    Path(name): Path<String>,
    Query(q): Query<TapQuery>,
) -> Result<Response, ApiError> {
    let hub = st.herder.taps().filter(|h| h.enabled()).ok_or_else(|| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "the live tap is disabled on this worker (tap.enable=false)",
        )
    })?;
    st.herder.connector_info(&name).await?;
    let (filter, rate) = filter(&q)?;
    let Some(conn) = hub.connector(&name) else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "the live tap is disabled",
        ));
    };
    let sub = conn.subscribe(rate);
    let hello = serde_json::json!({
        "connector": name,
        "worker_id": st.herder.worker_id(),
        "rate": rate,
    });
    let first = Event::default().event("tap").data(hello.to_string());
    let events =
        stream::once(async move { Ok::<_, Infallible>(first) }).chain(records(sub, filter));
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(10)))
        .into_response())
}

/// The listener's events: its filters applied, at most its rate of records per task
/// (all stages of an admitted record pass), secrets redacted.
fn records(sub: TapSubscription, f: Filter) -> impl Stream<Item = Result<Event, Infallible>> {
    // per task: the sample admitted last and when
    let admitted: HashMap<u32, (u64, Instant)> = HashMap::new();
    stream::unfold(
        (sub, f, admitted),
        |(mut sub, f, mut admitted)| async move {
            loop {
                let e = match sub.rx.recv().await {
                    Ok(e) => e,
                    Err(RecvError::Lagged(n)) => {
                        let ev = Event::default()
                            .event("lagged")
                            .data(format!("{{\"missed\":{}}}", n));
                        return Some((Ok(ev), (sub, f, admitted)));
                    }
                    Err(RecvError::Closed) => return None,
                };
                if f.task.is_some_and(|t| t != e.task)
                    || f.stages.as_ref().is_some_and(|s| !s.contains(&e.stage))
                {
                    continue;
                }
                let now = Instant::now();
                let ok = match admitted.get(&e.task) {
                    Some((sample, _)) if *sample == e.sample => true,
                    Some((_, at)) if now.duration_since(*at) < f.every => false,
                    _ => {
                        admitted.insert(e.task, (e.sample, now));
                        true
                    }
                };
                if !ok {
                    continue;
                }
                let Ok(text) = serde_json::to_string(&*e) else {
                    continue;
                };
                let ev = Event::default()
                    .event("record")
                    .data(sub.tap().redact(text));
                return Some((Ok(ev), (sub, f, admitted)));
            }
        },
    )
}
